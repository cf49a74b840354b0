package org.resnet4j.report;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.resnet4j.data.dense.DenseTarget;
import org.resnet4j.segmentation.Masks;
import org.resnet4j.tensor.Tensor;

/**
 * A PNG grid of test images for a segmenter, the counterpart of {@link DetectionGrid}: each cell
 * the ground truth's overlay beside the prediction's (torchvision's draw_segmentation_masks at
 * alpha 0.5, VOC palette), enlarged without smoothing so the pixels the metric counts stay
 * visible, captioned with the image's pixel accuracy.
 */
public final class SegmentationGrid {
    private SegmentationGrid() {}

    /**
     * @param images    CHW RGB tensors in [0, 1]
     * @param truths    row-major masks of the images' sizes ({@link DenseTarget#IGNORE} not scored)
     * @param predicted arg-max classes, row-major, of the same sizes
     */
    public static void save(Path file, List<Tensor> images, List<int[]> truths, List<int[]> predicted, int columns) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int n = images.size();
        if (n == 0 || truths.size() != n || predicted.size() != n) {
            throw new IllegalArgumentException("a grid needs as many masks and predictions as images, got " + n + ", " + truths.size() + ", " + predicted.size());
        }
        List<BufferedImage> cells = new java.util.ArrayList<>();
        List<String> captions = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            Tensor img = images.get(i);
            int scale = Math.max(1, (int) Math.ceil(128.0 / Math.min(img.dim(1), img.dim(2))));
            BufferedImage left = enlarge(Masks.overlay(img, scored(truths.get(i))), scale);
            BufferedImage right = enlarge(Masks.overlay(img, predicted.get(i)), scale);
            BufferedImage pair = new BufferedImage(2 * left.getWidth() + 4, left.getHeight(), BufferedImage.TYPE_INT_RGB);
            Graphics2D g = GridCanvas.open(pair, 11);
            g.drawImage(left, 0, 0, null);
            g.drawImage(right, left.getWidth() + 4, 0, null);
            g.dispose();
            cells.add(pair);
            captions.add(String.format(Locale.ROOT, "truth | predicted, %.1f%% of pixels right", 100 * accuracy(truths.get(i), predicted.get(i))));
        }
        GridCanvas.save(file, cells, captions, columns, 11);
    }

    /** Scored pixels predicted as their class; 1 where nothing is scored. */
    static double accuracy(int[] truth, int[] predicted) {
        long scored = 0, right = 0;
        for (int p = 0; p < truth.length; p++) {
            if (truth[p] == DenseTarget.IGNORE) continue;
            scored++;
            if (predicted[p] == truth[p]) right++;
        }
        return scored == 0 ? 1 : (double) right / scored;
    }

    /** The mask with its unscored pixels drawn as background, so the overlay shows the classes only. */
    private static int[] scored(int[] mask) {
        int[] m = mask.clone();
        for (int p = 0; p < m.length; p++) if (m[p] == DenseTarget.IGNORE) m[p] = 0;
        return m;
    }

    private static BufferedImage enlarge(BufferedImage img, int scale) {
        if (scale == 1) return img;
        BufferedImage big = new BufferedImage(img.getWidth() * scale, img.getHeight() * scale, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = big.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
        g.drawImage(img, 0, 0, big.getWidth(), big.getHeight(), null);
        g.dispose();
        return big;
    }
}
