package org.resnet4j.data.dense;

import org.resnet4j.data.SyntheticScenes;

/** {@link SyntheticScenes} as dense examples: every object's box and label, and the semantic mask. */
public final class Scenes {
    private Scenes() {}

    /** Scene {@code index} of {@code scenes} with its boxes, labels (0-based shape classes) and semantic mask (0 background). */
    public static DenseExample example(SyntheticScenes scenes, int index) {
        SyntheticScenes.Scene s = scenes.get(index);
        int m = s.instances().size(), n = scenes.imageSize();
        float[] boxes = new float[4 * m];
        int[] labels = new int[m];
        for (int i = 0; i < m; i++) {
            System.arraycopy(s.instances().get(i).box(), 0, boxes, 4 * i, 4);
            labels[i] = s.instances().get(i).label();
        }
        return new DenseExample(s.image(), new DenseTarget(boxes, labels, new boolean[m], s.semantic().clone(), n, n));
    }
}
