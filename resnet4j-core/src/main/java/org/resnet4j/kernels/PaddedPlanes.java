package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Zero-padded planes and the window bases into them, shared by the kernels by columns
 * ({@link DirectForwardColumns}, {@link DirectWeightGradient}): a worker pads a few images' planes
 * by one on every side into its own workspace, and each output position reads its 3x3 window from
 * its own base there (stride 1 or 2).
 */
final class PaddedPlanes {
    private PaddedPlanes() {}

    private static final VectorSpecies<Float> S = Hardware.FLOATS;
    private static final int L = Hardware.LANES;

    /**
     * base[q] = where the window of position q (of count, image q / ohw, output row q % ohw / ow
     * and column q % ow) starts in padded planes of row stride rs and image size imageSize.
     */
    static void windows(int[] base, int count, int ohw, int ow, int stride, int rs, int imageSize) {
        // counted up rather than divided out (three integer divisions per position cost as much as the padding)
        for (int q = 0, image = 0; q < count; image += imageSize)
            for (int row = image; row < image + ohw / ow * stride * rs && q < count; row += stride * rs)
                for (int c = 0; c < ow; c++) base[q++] = row + stride * c;
    }

    /** {@code planes} consecutive planes of x (one or several images') zero-padded by one on every side into xp. */
    static void pad(float[] x, int src, int planes, int h, int w, float[] xp) {
        int rs = w + 2, padPlane = (h + 2) * rs;
        for (int pl = 0; pl < planes; pl++) {
            int s = src + pl * h * w, d = pl * padPlane;
            java.util.Arrays.fill(xp, d, d + rs + 1, 0f);
            for (int r = 0; r < h; r++) {
                int o = d + (r + 1) * rs + 1;
                int c = 0, sr = s + r * w;
                for (; c <= w - L; c += L) FloatVector.fromArray(S, x, sr + c).intoArray(xp, o + c);
                for (; c < w; c++) xp[o + c] = x[sr + c];
                xp[o + w] = 0f;
                xp[o + w + 1] = 0f;
            }
            java.util.Arrays.fill(xp, d + (h + 1) * rs + 1, d + padPlane, 0f);
        }
    }
}
