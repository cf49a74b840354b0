package org.resnet4j.data.dense;

import java.util.List;
import org.resnet4j.data.SyntheticScenes;

/**
 * {@link SyntheticScenes} as a dense dataset: every object's box and label (0-based shape
 * classes), and the semantic mask (0 background, shape class + 1). {@link #classes} are the
 * shapes'; {@link #maskClasses} adds the background first, for segmentation.
 */
public final class SceneDataset implements DenseDataset {
    private final SyntheticScenes scenes;

    public SceneDataset(SyntheticScenes scenes) {
        this.scenes = scenes;
    }

    @Override
    public int size() {
        return scenes.size();
    }

    @Override
    public DenseExample get(int index) {
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

    @Override
    public List<String> classes() {
        return SyntheticScenes.CLASSES;
    }

    /** The semantic mask's classes: "background", then the shapes. */
    public static List<String> maskClasses() {
        List<String> c = new java.util.ArrayList<>();
        c.add("background");
        c.addAll(SyntheticScenes.CLASSES);
        return List.copyOf(c);
    }
}
