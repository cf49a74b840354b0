package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Direct 3x3 backward-weight as an implicit GEMM, for 16 vector registers: dW^T[k][co] = sum
 * over images and positions p of x_k[p] dy[co][p], where tap k = (ci, ki, kj) reads the padded
 * input shifted by ki (w + 2) + kj, in place (no im2col). The micro-kernel is the GEMM's 6 x 2L
 * ({@link Hardware#GEMM_ROWS} with 16 registers): 6 taps broadcast from x by 2 vectors of output
 * channels loaded from dy transposed to panels [cout / 2L][position][2L], 12 accumulators, 2
 * loads and 6 broadcasts per 12 FMAs, and no lane reductions (each lane is one output channel).
 * The panels' constant stride lets C2 drop the loads' bounds checks from the loop (with dy as
 * [position][cout], a stride only known at run time, the kernel ran at 48 GFLOPS), and the
 * positions run as one loop, each read from its own base in the padded planes (a loop per image
 * row, w iterations, ran at 52). Positions as flat rows of w + 2, the two padding columns zero in
 * dy's panels, summed 63 for 7x7's 49; from their bases only outputs are summed, and several
 * small images share one pass: 64 channels at 7x7 went from 50-73 GFLOPS (by im2col) to 76-88,
 * 32 at 14x14 from 52-70 to 77-87, 16 at 28x28 from 76-82 to 78-79 (one thread, 256 bits,
 * batch 128). The flat rows, kept as a second loop for wide images, ran
 * at 6-8 GFLOPS inside the training step (about 75 alone), and were dropped.
 *
 * <p>{@link DirectConvKernels#tapRow4}, which vectorizes positions instead, ran at 38-41 GFLOPS
 * on one thread at 256 bits on resnet20's 16-channel layer whatever the images per reduction
 * (so the loss is in the kernel, not the cache). Each image group's sums run in a fixed order
 * (images, then positions), independent of the split over threads, over
 * {@link #IMAGES_PER_FLUSH} images at most, to bound the float sums as the lane form does.
 */
final class DirectWeightGradient {
    private DirectWeightGradient() {}

    private static final VectorSpecies<Float> S = Hardware.FLOATS;
    private static final int L = Hardware.LANES;
    /** Taps per micro-kernel (rows of the implicit GEMM) and output channels per panel (its columns). */
    static final int TAPS = 6, COLUMNS = 2 * L;
    /** Images summed in one partial before it is added into dw. */
    static final int IMAGES_PER_FLUSH = 8;

    /** Whether this form computes s: a same-size 3x3 with whole blocks and panels of output channels, whole blocks of taps. */
    static boolean supports(ConvShape s) {
        return s.padded3x3() && s.cout() % COLUMNS == 0 && (s.cin() * 9) % TAPS == 0;
    }

    /** Output positions one pass of the micro-kernels aims at (several small images side by side). */
    static final int GROUP_POSITIONS = 384;

    /**
     * dw (+)= d(loss)/d(w); the bias is left to the caller. The batch is cut into groups of
     * {@link #IMAGES_PER_FLUSH} images split over the pool: a worker pads its images' input and
     * transposes their gradient into its own workspaces, a few small images at a time (about
     * {@link #GROUP_POSITIONS} positions), where they stay in cache for every tap (one shared pass
     * over the batch for each cost 2.1 of 8.3 ms at resnet20's 16-channel layer), and sums the
     * group into a partial of its own; the partials are added into dw in group order, so the sums
     * do not depend on the number of threads. Each position is read at its own base in the padded
     * planes, so only outputs are summed.
     */
    static void backwardWeight(ConvShape s, float[] x, float[] dy, float[] dw) {
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w(), hw = h * wd, ohw = s.outPixels();
        int rs = wd + 2, padPlane = (h + 2) * rs, imageSize = cin * padPlane, taps = cin * 9, size = taps * cout;
        int[] off = new int[taps];
        for (int k = 0; k < taps; k++) off[k] = (k / 9) * padPlane + (k % 9 / 3) * rs + k % 3;
        int groups = (n + IMAGES_PER_FLUSH - 1) / IMAGES_PER_FLUSH;
        int pass = Math.min(IMAGES_PER_FLUSH, (GROUP_POSITIONS + ohw - 1) / ohw); // images per pass
        float[] part = Workspace.get(Workspace.Slot.ACC, groups * size);
        Parallel.forRangeGuided(groups, 1, (g0, g1) -> {
            // a window's last tap reads (cin - 1) padPlane + (h + 1) rs + w + 1 < cin padPlane: no slack
            float[] xp = Workspace.get(Workspace.Slot.DIRECT_INPUT, pass * imageSize);
            float[] dyt = Workspace.get(Workspace.Slot.DIRECT_GRAD, cout * pass * ohw);
            int[] base = new int[pass * ohw];
            for (int g = g0; g < g1; g++) {
                int pg = g * size, end = Math.min(n, (g + 1) * IMAGES_PER_FLUSH);
                java.util.Arrays.fill(part, pg, pg + size, 0f);
                for (int i0 = g * IMAGES_PER_FLUSH; i0 < end; i0 += pass) {
                    int images = Math.min(pass, end - i0), count = images * ohw;
                    PaddedPlanes.pad(x, i0 * cin * hw, images * cin, h, wd, xp);
                    for (int j = 0; j < images; j++) transpose(dy, (i0 + j) * cout * ohw, cout, ohw, count, dyt, j * ohw);
                    PaddedPlanes.windows(base, count, ohw, s.ow(), s.strideH(), rs, imageSize);
                    for (int k0 = 0; k0 < taps; k0 += TAPS)
                        for (int co0 = 0; co0 < cout; co0 += COLUMNS)
                            taps6(xp, base, count, off, k0, dyt, co0 * count, part, pg + k0 * cout + co0, cout);
                }
            }
        });
        // the partials added in group order, each weight by one chunk (the same bits on any split)
        Parallel.forRangeGuided(cout, 1, (c0, c1) -> {
            for (int g = 0; g < groups; g++)
                for (int co = c0, pg = g * size; co < c1; co++)
                    for (int k = 0; k < taps; k++) dw[co * taps + k] += part[pg + k * cout + co];
        });
    }

    /**
     * One image's [cout][hw] gradient into panels [cout / 2L][count][2L] from position {@code at},
     * a block of positions at a time, so that the lines written stay in L1 while every channel
     * fills them.
     */
    private static void transpose(float[] dy, int src, int cout, int hw, int count, float[] dyt, int at) {
        for (int p0 = 0; p0 < hw; p0 += TRANSPOSE_BLOCK) {
            int p1 = Math.min(hw, p0 + TRANSPOSE_BLOCK);
            for (int co = 0; co < cout; co++) {
                int d = ((co / COLUMNS) * count + at + p0) * COLUMNS + co % COLUMNS, sc = src + co * hw;
                for (int p = p0; p < p1; p++, d += COLUMNS) dyt[d] = dy[sc + p];
            }
        }
    }

    private static final int TRANSPOSE_BLOCK = 32;

    /**
     * part[k0 + t][co0 .. co0 + 2L) += sum over the positions q of x_{k0 + t}[q] dy[q][co0 ..], position
     * q's window starting at base[q] in the padded planes: the six taps' accumulators start from
     * part and end there.
     */
    private static void taps6(float[] xp, int[] base, int count, int[] off, int k0, float[] dyt, int db,
                              float[] part, int pb, int cout) {
        int o0 = off[k0], o1 = off[k0 + 1], o2 = off[k0 + 2], o3 = off[k0 + 3], o4 = off[k0 + 4], o5 = off[k0 + 5];
        FloatVector c00 = FloatVector.fromArray(S, part, pb), c01 = FloatVector.fromArray(S, part, pb + L);
        FloatVector c10 = FloatVector.fromArray(S, part, pb + cout), c11 = FloatVector.fromArray(S, part, pb + cout + L);
        FloatVector c20 = FloatVector.fromArray(S, part, pb + 2 * cout), c21 = FloatVector.fromArray(S, part, pb + 2 * cout + L);
        FloatVector c30 = FloatVector.fromArray(S, part, pb + 3 * cout), c31 = FloatVector.fromArray(S, part, pb + 3 * cout + L);
        FloatVector c40 = FloatVector.fromArray(S, part, pb + 4 * cout), c41 = FloatVector.fromArray(S, part, pb + 4 * cout + L);
        FloatVector c50 = FloatVector.fromArray(S, part, pb + 5 * cout), c51 = FloatVector.fromArray(S, part, pb + 5 * cout + L);
        {
            for (int q = 0; q < count; q++) {
                int d = db + q * COLUMNS, xo = base[q];
                FloatVector g0 = FloatVector.fromArray(S, dyt, d), g1 = FloatVector.fromArray(S, dyt, d + L);
                FloatVector b = FloatVector.broadcast(S, xp[o0 + xo]);
                c00 = b.fma(g0, c00);
                c01 = b.fma(g1, c01);
                b = FloatVector.broadcast(S, xp[o1 + xo]);
                c10 = b.fma(g0, c10);
                c11 = b.fma(g1, c11);
                b = FloatVector.broadcast(S, xp[o2 + xo]);
                c20 = b.fma(g0, c20);
                c21 = b.fma(g1, c21);
                b = FloatVector.broadcast(S, xp[o3 + xo]);
                c30 = b.fma(g0, c30);
                c31 = b.fma(g1, c31);
                b = FloatVector.broadcast(S, xp[o4 + xo]);
                c40 = b.fma(g0, c40);
                c41 = b.fma(g1, c41);
                b = FloatVector.broadcast(S, xp[o5 + xo]);
                c50 = b.fma(g0, c50);
                c51 = b.fma(g1, c51);
            }
        }
        c00.intoArray(part, pb);
        c01.intoArray(part, pb + L);
        c10.intoArray(part, pb + cout);
        c11.intoArray(part, pb + cout + L);
        c20.intoArray(part, pb + 2 * cout);
        c21.intoArray(part, pb + 2 * cout + L);
        c30.intoArray(part, pb + 3 * cout);
        c31.intoArray(part, pb + 3 * cout + L);
        c40.intoArray(part, pb + 4 * cout);
        c41.intoArray(part, pb + 4 * cout + L);
        c50.intoArray(part, pb + 5 * cout);
        c51.intoArray(part, pb + 5 * cout + L);
    }
}
