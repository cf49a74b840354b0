package org.resnet4j.detection;

import java.util.Arrays;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision's AnchorGenerator (models/detection/anchor_utils.py) for one set of sizes and
 * aspect ratios per pyramid level. FCOS has no anchor boxes in the paper's sense: it uses one
 * square "anchor" per location whose size equals the level's stride (sizes 8, 16, 32, 64, 128,
 * aspect ratio 1.0), so that its centre is the location (Tian et al. 2019, section 3.1) and its
 * size is the unit the regression targets are measured in.
 *
 * <p>As torchvision: a base anchor per (ratio, size) is round([-w, -h, w, h] / 2) with
 * h = sqrt(ratio) * size, w = size / sqrt(ratio) in float32 (round half to even, as torch.round);
 * a level's stride is (padded image size) // (grid size), integer division, so for a level whose
 * grid does not divide the batch (P6, P7 of a 160-pixel batch: 3 and 2 cells) the stride is not
 * the nominal 64 or 128; anchor (y, x, a) is the base anchor a shifted by (x * stride_w,
 * y * stride_h); rows ordered y, then x, then a, levels concatenated.
 */
public final class AnchorGenerator {
    private final float[][][] cellAnchors; // [level][anchor][4]

    /** FCOS's: sizes ((8,), (16,), (32,), (64,), (128,)), aspect ratio 1.0 on every level. */
    public static AnchorGenerator fcosDefault() {
        return new AnchorGenerator(new int[][] {{8}, {16}, {32}, {64}, {128}}, new double[][] {{1.0}, {1.0}, {1.0}, {1.0}, {1.0}});
    }

    public AnchorGenerator(int[][] sizes, double[][] aspectRatios) {
        if (sizes.length == 0 || sizes.length != aspectRatios.length) {
            throw new IllegalArgumentException("AnchorGenerator: " + sizes.length + " levels of sizes but " + aspectRatios.length
                    + " of aspect ratios");
        }
        cellAnchors = new float[sizes.length][][];
        for (int l = 0; l < sizes.length; l++) cellAnchors[l] = baseAnchors(sizes[l], aspectRatios[l]);
    }

    private static float[][] baseAnchors(int[] scales, double[] ratios) {
        float[][] out = new float[scales.length * ratios.length][];
        int k = 0;
        for (double r : ratios) { // ws = (w_ratios[:, None] * scales[None, :]).view(-1): ratio-major
            if (!(r > 0)) throw new IllegalArgumentException("AnchorGenerator: aspect ratio must be > 0, got " + r);
            float h = (float) Math.sqrt((float) r), w = 1f / h;
            for (int s : scales) {
                float ws = w * s, hs = h * s;
                out[k++] = new float[] {(float) Math.rint(-ws / 2f), (float) Math.rint(-hs / 2f), (float) Math.rint(ws / 2f),
                        (float) Math.rint(hs / 2f)};
            }
        }
        return out;
    }

    public int levels() {
        return cellAnchors.length;
    }

    /** Anchors per location on each level (FCOS: 1). */
    public int numAnchorsPerLocation(int level) {
        return cellAnchors[level].length;
    }

    /**
     * The anchors of a batch padded to {@code imageH} x {@code imageW} whose levels have the grid
     * sizes given ({height, width} per level): [sum of H * W * A, 4], the same for every image.
     */
    public Tensor anchors(int imageH, int imageW, int[][] gridSizes) {
        if (gridSizes.length != cellAnchors.length) {
            throw new IllegalArgumentException("AnchorGenerator has " + cellAnchors.length + " levels of sizes but got "
                    + gridSizes.length + " feature maps");
        }
        int total = 0;
        for (int l = 0; l < gridSizes.length; l++) total += gridSizes[l][0] * gridSizes[l][1] * cellAnchors[l].length;
        Tensor out = Tensor.zeros(total, 4);
        float[] d = out.data();
        int row = 0;
        for (int l = 0; l < gridSizes.length; l++) {
            int gh = gridSizes[l][0], gw = gridSizes[l][1];
            if (gh < 1 || gw < 1) throw new IllegalArgumentException("AnchorGenerator: empty grid " + Arrays.toString(gridSizes[l]));
            int sh = imageH / gh, sw = imageW / gw;
            for (int y = 0; y < gh; y++) {
                for (int x = 0; x < gw; x++) {
                    for (float[] base : cellAnchors[l]) {
                        int o = 4 * row++;
                        d[o] = x * sw + base[0];
                        d[o + 1] = y * sh + base[1];
                        d[o + 2] = x * sw + base[2];
                        d[o + 3] = y * sh + base[3];
                    }
                }
            }
        }
        return out;
    }
}
