package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Direct 3x3 forward by columns, for 16 vector registers: y^T[p][co] = sum over taps k of
 * x_k[p] W^T[k][co], the GEMM's 6 x 2L micro-kernel with 6 positions broadcast from the padded
 * input in place and 2 vectors of output channels loaded from weights packed into panels
 * [cout / 2L][cin 9][2L] (a constant stride, so C2 drops their bounds checks). The 6 positions
 * are any 6 outputs, each read from its own base in the padded planes with one shared offset per
 * tap (as the GEMM reads A's rows in place), the planes padded by the worker that uses them; the
 * [position][channel] result is transposed into y and the epilogue applied there. Positions
 * taken as whole flat rows of w + 2 (the padding columns computed and dropped) wasted a quarter
 * of the work at 7x7 and 8x8: each from its own base, 64 channels at 7x7 went from 36-48 GFLOPS
 * by im2col (and about as much as flat rows) to 60-67, 32 at 14x14 from 49-72 to 56-89, with 16
 * channels unchanged (one thread, 256 bits, batch 128).
 *
 * <p>AMD EPYC Zen 5 with -XX:UseAVX=2, one thread, batch 128: resnet20's 16 channels at 32x32
 * 73-77 GFLOPS against 63-67 by {@link DirectConvKernels#block1} (8 channels x one vector of
 * positions, 8 accumulators), 32 at 16x16 70-76 against 62-67. Of 8.3 ms at 16 channels the
 * kernel takes 6.3 (96 GFLOPS), padding 0.8 and the transpose 1.1. The taps as one loop over a
 * table of offsets; written out three to a kernel row, as the lane-form kernels are, it ran at
 * 45-48 (C2 hoists the broadcasts and spills).
 */
final class DirectForwardColumns {
    private DirectForwardColumns() {}

    private static final VectorSpecies<Float> S = Hardware.FLOATS;
    private static final int L = Hardware.LANES;
    /** Positions (rows of the implicit GEMM) and output channels (its columns) per micro-kernel. */
    static final int ROWS = 6, COLUMNS = 2 * L;

    /** Whether this form computes s: a padded 3x3 of stride 1 or 2 with whole panels of output channels. */
    static boolean supports(ConvShape s) {
        return s.padded3x3() && s.cout() % COLUMNS == 0;
    }

    /** Output positions a micro-kernel run aims at per image group (several small images side by side). */
    static final int GROUP_POSITIONS = 256;

    /** Images per group: enough for {@link #GROUP_POSITIONS} positions, and at least two groups per thread. */
    static int imagesPerGroup(ConvShape s) {
        int want = (GROUP_POSITIONS + s.outPixels() - 1) / s.outPixels();
        return Math.max(1, Math.min(want, s.n() / (2 * Parallel.threads())));
    }

    /**
     * y = conv(x, w), then the epilogue (may be null), as {@link Conv#forward}. The batch is cut
     * into groups of {@link #imagesPerGroup} images split over the pool; a worker pads a group's
     * planes into its workspace and runs the micro-kernel over the group's output positions six at
     * a time, each at its own base in the padded planes, so that every computed position is an
     * output (positions over whole flat rows, padding columns included, computed 66 for 7x7's 49),
     * and small images fill the kernel's rows across image boundaries.
     */
    static void forward(ConvShape s, float[] x, float[] w, Epilogue e, float[] y) {
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w(), hw = h * wd, taps = cin * 9;
        int ow = s.ow(), ohw = s.outPixels(), stride = s.strideH();
        int rs = wd + 2, padPlane = (h + 2) * rs, imageSize = cin * padPlane, panels = cout / COLUMNS;
        int group = imagesPerGroup(s), groups = (n + group - 1) / group, padded = (group * ohw + ROWS - 1) / ROWS * ROWS;
        float[] wt = Workspace.get(Workspace.Slot.DIRECT_WEIGHTS, cout * taps);
        for (int co = 0; co < cout; co++)
            for (int k = 0; k < taps; k++) wt[((co / COLUMNS) * taps + k) * COLUMNS + co % COLUMNS] = w[co * taps + k];
        int[] off = new int[taps];
        for (int k = 0; k < taps; k++) off[k] = (k / 9) * padPlane + (k % 9 / 3) * rs + k % 3;
        Parallel.forRangeGuided(groups, 1, (g0, g1) -> {
            // the last window's last tap reads at most (cin - 1) padPlane + (h + 1) rs + w + 1 < cin padPlane: no slack
            float[] xp = Workspace.get(Workspace.Slot.DIRECT_INPUT, group * imageSize);
            float[] yt = Workspace.get(Workspace.Slot.DIRECT_OUTPUT, panels * padded * COLUMNS);
            int[] base = new int[padded];
            for (int g = g0; g < g1; g++) {
                int i0 = g * group, images = Math.min(n, i0 + group) - i0, count = images * ohw;
                PaddedPlanes.pad(x, i0 * cin * hw, images * cin, h, wd, xp);
                PaddedPlanes.windows(base, count, ohw, ow, stride, rs, imageSize);
                // the last kernel's spare rows recompute the last position, into rows that are not read
                for (int q = count; q < padded; q++) base[q] = base[count - 1];
                for (int pn = 0; pn < panels; pn++)
                    for (int q = 0; q < padded; q += ROWS)
                        tile(xp, base[q], base[q + 1], base[q + 2], base[q + 3], base[q + 4], base[q + 5], off, taps, wt,
                                pn * taps * COLUMNS, yt, (pn * padded + q) * COLUMNS);
                for (int j = 0; j < images; j++) {
                    int y0 = (i0 + j) * cout * ohw;
                    for (int co = 0; co < cout; co++) {
                        int src = ((co / COLUMNS) * padded + j * ohw) * COLUMNS + co % COLUMNS, dst = y0 + co * ohw;
                        for (int p = 0; p < ohw; p++, src += COLUMNS) y[dst + p] = yt[src];
                    }
                    if (e != null) e.apply(0, y, y0, ohw, cout, ohw); // while in cache
                }
            }
        });
    }

    /**
     * Six output positions, whose windows start at p0..p5 in the padded planes, x one panel of 2L
     * output channels: out[o + i 2L ...] gets the two vectors of position i.
     */
    static void tile(float[] xp, int p0, int p1, int p2, int p3, int p4, int p5, int[] off, int taps,
                             float[] wt, int w0, float[] out, int o) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int k = 0; k < taps; k++) {
            int xo = off[k], wo = w0 + k * COLUMNS;
            FloatVector b0 = FloatVector.fromArray(S, wt, wo), b1 = FloatVector.fromArray(S, wt, wo + L);
            FloatVector a = FloatVector.broadcast(S, xp[p0 + xo]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, xp[p1 + xo]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, xp[p2 + xo]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, xp[p3 + xo]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, xp[p4 + xo]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, xp[p5 + xo]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        c00.intoArray(out, o);
        c01.intoArray(out, o + L);
        c10.intoArray(out, o + COLUMNS);
        c11.intoArray(out, o + COLUMNS + L);
        c20.intoArray(out, o + 2 * COLUMNS);
        c21.intoArray(out, o + 2 * COLUMNS + L);
        c30.intoArray(out, o + 3 * COLUMNS);
        c31.intoArray(out, o + 3 * COLUMNS + L);
        c40.intoArray(out, o + 4 * COLUMNS);
        c41.intoArray(out, o + 4 * COLUMNS + L);
        c50.intoArray(out, o + 5 * COLUMNS);
        c51.intoArray(out, o + 5 * COLUMNS + L);
    }
}
