package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Direct 3x3 forward by columns, for 16 vector registers: y^T[p][co] = sum over taps k of
 * x_k[p] W^T[k][co], the GEMM's 6 x 2L micro-kernel with 6 positions broadcast from the padded
 * input in place and 2 vectors of output channels loaded from weights packed into panels
 * [cout / 2L][cin 9][2L] (a constant stride, so C2 drops their bounds checks). The 6 positions
 * lie in 6 separate chunks of the image's flat rows (different bases, one shared offset per tap,
 * as the GEMM reads A's rows in place), each image padded by the worker that uses it; its
 * [position][channel] result is transposed into y with the padding columns dropped, and the
 * epilogue applied there.
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

    /** Whether this form computes s: a same-size 3x3 with whole blocks and panels of output channels. */
    static boolean supports(ConvShape s) {
        return s.sameSize3x3() && s.cout() % Hardware.DIRECT_CHANNELS == 0 && s.cout() % COLUMNS == 0;
    }

    /** y = conv(x, w), then the epilogue (may be null), as {@link Conv#forward}; images split over the pool. */
    static void forward(ConvShape s, float[] x, float[] w, Epilogue e, float[] y) {
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w(), hw = h * wd;
        int rs = wd + 2, padPlane = (h + 2) * rs, flat = h * rs, chunk = (flat + ROWS - 1) / ROWS;
        int panels = cout / COLUMNS;
        float[] wt = Workspace.get(Workspace.Slot.DIRECT_WEIGHTS, cout * cin * 9);
        for (int co = 0; co < cout; co++)
            for (int k = 0; k < cin * 9; k++) wt[((co / COLUMNS) * cin * 9 + k) * COLUMNS + co % COLUMNS] = w[co * cin * 9 + k];
        int[] off = new int[cin * 9];
        for (int k = 0; k < cin * 9; k++) off[k] = (k / 9) * padPlane + (k % 9 / 3) * rs + k % 3;
        Parallel.forRange(n, 1, (i0, i1) -> {
            // the last chunk's positions (up to flat + ROWS - 2) read past the planes by up to ROWS + 1 floats
            float[] xp = Workspace.get(Workspace.Slot.DIRECT_INPUT, cin * padPlane + SLACK);
            float[] yt = Workspace.get(Workspace.Slot.DIRECT_OUTPUT, ROWS * chunk * COLUMNS * panels);
            for (int img = i0; img < i1; img++) {
                DirectWeightGradient.pad(x, img * cin * hw, cin, h, wd, xp, SLACK);
                for (int pn = 0; pn < panels; pn++)
                    for (int q = 0; q < chunk; q++)
                        tile(xp, q, chunk, off, cin * 9, wt, pn * cin * 9 * COLUMNS, yt, (pn * ROWS * chunk + q) * COLUMNS, chunk * COLUMNS);
                int y0 = img * cout * hw;
                for (int r = 0; r < h; r++)
                    for (int co = 0; co < cout; co++) {
                        int src = ((co / COLUMNS) * ROWS * chunk + r * rs) * COLUMNS + co % COLUMNS, dst = y0 + co * hw + r * wd;
                        for (int c = 0; c < wd; c++, src += COLUMNS) y[dst + c] = yt[src];
                    }
                if (e != null) e.apply(0, y, y0, hw, cout, hw);
            }
        });
    }

    private static final int SLACK = ROWS + 2;

    /**
     * Positions q + i chunk (i = 0..5) x one panel of 2L channels: out[(i chunk) 2L ...] gets the
     * two vectors of position q + i chunk.
     */
    private static void tile(float[] xp, int q, int chunk, int[] off, int taps, float[] wt, int w0,
                             float[] out, int o, int rowStride) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        int p0 = q, p1 = q + chunk, p2 = p1 + chunk, p3 = p2 + chunk, p4 = p3 + chunk, p5 = p4 + chunk;
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
        c10.intoArray(out, o + rowStride);
        c11.intoArray(out, o + rowStride + L);
        c20.intoArray(out, o + 2 * rowStride);
        c21.intoArray(out, o + 2 * rowStride + L);
        c30.intoArray(out, o + 3 * rowStride);
        c31.intoArray(out, o + 3 * rowStride + L);
        c40.intoArray(out, o + 4 * rowStride);
        c41.intoArray(out, o + 4 * rowStride + L);
        c50.intoArray(out, o + 5 * rowStride);
        c51.intoArray(out, o + 5 * rowStride + L);
    }
}
