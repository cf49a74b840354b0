package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link DirectConv}'s register-blocked kernels, one per register file ({@link Hardware}): the
 * forward block of 8 output channels x two vectors of positions ({@link #block2}, 16
 * accumulators, for 32 registers) or x one vector ({@link #block1}, 8, for 16 registers), and the
 * backward-weight row of 8 or 4 output channels x 3 taps ({@link #tapRow8}: 24 accumulators,
 * {@link #tapRow4}: 12).
 */
final class DirectConvKernels {
    private DirectConvKernels() {}

    private static final VectorSpecies<Float> S = Hardware.FLOATS;
    private static final int L = Hardware.LANES, CO_BLOCK = Hardware.DIRECT_CHANNELS;

    /**
     * dW[co0..co0+7][ci][ki][0..2] over images [i0, i1), added into dw: 24 vector accumulators fed
     * by 8 dy loads and 3 input loads per position vector.
     */
    static void tapRow8(float[] xp, float[] dyf, int i0, int i1, int co0, int ci, int ki, int cin, int cout, int padPlane,
                        int rs, int flatPadded, float[] dw, float[] lanes) {
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a02 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S), a12 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a22 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S), a32 = FloatVector.zero(S);
        FloatVector a40 = FloatVector.zero(S), a41 = FloatVector.zero(S), a42 = FloatVector.zero(S);
        FloatVector a50 = FloatVector.zero(S), a51 = FloatVector.zero(S), a52 = FloatVector.zero(S);
        FloatVector a60 = FloatVector.zero(S), a61 = FloatVector.zero(S), a62 = FloatVector.zero(S);
        FloatVector a70 = FloatVector.zero(S), a71 = FloatVector.zero(S), a72 = FloatVector.zero(S);
        for (int img = i0; img < i1; img++) {
            int d0 = (img * cout + co0) * flatPadded, x0 = (img * cin + ci) * padPlane + ki * rs;
            for (int p = 0; p < flatPadded; p += L) {
                FloatVector x0v = FloatVector.fromArray(S, xp, x0 + p), x1v = FloatVector.fromArray(S, xp, x0 + p + 1);
                FloatVector x2v = FloatVector.fromArray(S, xp, x0 + p + 2);
                FloatVector g0 = FloatVector.fromArray(S, dyf, d0 + p);
                a00 = g0.fma(x0v, a00);
                a01 = g0.fma(x1v, a01);
                a02 = g0.fma(x2v, a02);
                FloatVector g1 = FloatVector.fromArray(S, dyf, d0 + flatPadded + p);
                a10 = g1.fma(x0v, a10);
                a11 = g1.fma(x1v, a11);
                a12 = g1.fma(x2v, a12);
                FloatVector g2 = FloatVector.fromArray(S, dyf, d0 + 2 * flatPadded + p);
                a20 = g2.fma(x0v, a20);
                a21 = g2.fma(x1v, a21);
                a22 = g2.fma(x2v, a22);
                FloatVector g3 = FloatVector.fromArray(S, dyf, d0 + 3 * flatPadded + p);
                a30 = g3.fma(x0v, a30);
                a31 = g3.fma(x1v, a31);
                a32 = g3.fma(x2v, a32);
                FloatVector g4 = FloatVector.fromArray(S, dyf, d0 + 4 * flatPadded + p);
                a40 = g4.fma(x0v, a40);
                a41 = g4.fma(x1v, a41);
                a42 = g4.fma(x2v, a42);
                FloatVector g5 = FloatVector.fromArray(S, dyf, d0 + 5 * flatPadded + p);
                a50 = g5.fma(x0v, a50);
                a51 = g5.fma(x1v, a51);
                a52 = g5.fma(x2v, a52);
                FloatVector g6 = FloatVector.fromArray(S, dyf, d0 + 6 * flatPadded + p);
                a60 = g6.fma(x0v, a60);
                a61 = g6.fma(x1v, a61);
                a62 = g6.fma(x2v, a62);
                FloatVector g7 = FloatVector.fromArray(S, dyf, d0 + 7 * flatPadded + p);
                a70 = g7.fma(x0v, a70);
                a71 = g7.fma(x1v, a71);
                a72 = g7.fma(x2v, a72);
            }
        }
        int o = (co0 * cin + ci) * 9 + ki * 3, oc = cin * 9; // no array of vectors: C2 would box them
        a00.intoArray(lanes, 0 * L);
        a01.intoArray(lanes, 1 * L);
        a02.intoArray(lanes, 2 * L);
        a10.intoArray(lanes, 3 * L);
        a11.intoArray(lanes, 4 * L);
        a12.intoArray(lanes, 5 * L);
        a20.intoArray(lanes, 6 * L);
        a21.intoArray(lanes, 7 * L);
        a22.intoArray(lanes, 8 * L);
        a30.intoArray(lanes, 9 * L);
        a31.intoArray(lanes, 10 * L);
        a32.intoArray(lanes, 11 * L);
        a40.intoArray(lanes, 12 * L);
        a41.intoArray(lanes, 13 * L);
        a42.intoArray(lanes, 14 * L);
        a50.intoArray(lanes, 15 * L);
        a51.intoArray(lanes, 16 * L);
        a52.intoArray(lanes, 17 * L);
        a60.intoArray(lanes, 18 * L);
        a61.intoArray(lanes, 19 * L);
        a62.intoArray(lanes, 20 * L);
        a70.intoArray(lanes, 21 * L);
        a71.intoArray(lanes, 22 * L);
        a72.intoArray(lanes, 23 * L);
        addLanes(lanes, 8, dw, o, oc);
    }

    /**
     * The same with 4 output channels: 12 accumulators, 4 dy loads and 3 input loads per position
     * vector, for 16 registers, where the 8-channel form's 24 accumulators spill.
     */
    static void tapRow4(float[] xp, float[] dyf, int i0, int i1, int co0, int ci, int ki, int cin, int cout, int padPlane,
                        int rs, int flatPadded, float[] dw, float[] lanes) {
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a02 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S), a12 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a22 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S), a32 = FloatVector.zero(S);
        for (int img = i0; img < i1; img++) {
            int d0 = (img * cout + co0) * flatPadded, x0 = (img * cin + ci) * padPlane + ki * rs;
            for (int p = 0; p < flatPadded; p += L) {
                FloatVector x0v = FloatVector.fromArray(S, xp, x0 + p), x1v = FloatVector.fromArray(S, xp, x0 + p + 1);
                FloatVector x2v = FloatVector.fromArray(S, xp, x0 + p + 2);
                FloatVector g0 = FloatVector.fromArray(S, dyf, d0 + p);
                a00 = g0.fma(x0v, a00);
                a01 = g0.fma(x1v, a01);
                a02 = g0.fma(x2v, a02);
                FloatVector g1 = FloatVector.fromArray(S, dyf, d0 + 1 * flatPadded + p);
                a10 = g1.fma(x0v, a10);
                a11 = g1.fma(x1v, a11);
                a12 = g1.fma(x2v, a12);
                FloatVector g2 = FloatVector.fromArray(S, dyf, d0 + 2 * flatPadded + p);
                a20 = g2.fma(x0v, a20);
                a21 = g2.fma(x1v, a21);
                a22 = g2.fma(x2v, a22);
                FloatVector g3 = FloatVector.fromArray(S, dyf, d0 + 3 * flatPadded + p);
                a30 = g3.fma(x0v, a30);
                a31 = g3.fma(x1v, a31);
                a32 = g3.fma(x2v, a32);
            }
        }
        a00.intoArray(lanes, 0 * L);
        a01.intoArray(lanes, 1 * L);
        a02.intoArray(lanes, 2 * L);
        a10.intoArray(lanes, 3 * L);
        a11.intoArray(lanes, 4 * L);
        a12.intoArray(lanes, 5 * L);
        a20.intoArray(lanes, 6 * L);
        a21.intoArray(lanes, 7 * L);
        a22.intoArray(lanes, 8 * L);
        a30.intoArray(lanes, 9 * L);
        a31.intoArray(lanes, 10 * L);
        a32.intoArray(lanes, 11 * L);
        addLanes(lanes, 4, dw, (co0 * cin + ci) * 9 + ki * 3, cin * 9);
    }

    /**
     * 8 output channels x 2L flat positions from p (the register block of {@link Gemm}'s 8x32
     * micro-kernel: per tap two input loads and eight weight broadcasts feed 16 FMAs).
     */
    static void block2(float[] xp, int x0, int padPlane, int rs, int cin, float[] wr, int w0, float[] out, int p, int stride) {
        FloatVector a00 = FloatVector.zero(S); FloatVector a01 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S); FloatVector a11 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S); FloatVector a21 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S); FloatVector a31 = FloatVector.zero(S);
        FloatVector a40 = FloatVector.zero(S); FloatVector a41 = FloatVector.zero(S);
        FloatVector a50 = FloatVector.zero(S); FloatVector a51 = FloatVector.zero(S);
        FloatVector a60 = FloatVector.zero(S); FloatVector a61 = FloatVector.zero(S);
        FloatVector a70 = FloatVector.zero(S); FloatVector a71 = FloatVector.zero(S);
        for (int ci = 0; ci < cin; ci++) {
            int xc = x0 + ci * padPlane, wc = w0 + ci * 9 * CO_BLOCK;
            for (int ki = 0; ki < 3; ki++) {
                int xr = xc + ki * rs, wt = wc + ki * 3 * CO_BLOCK;
                // the three taps of a kernel row written out: C2 left the kj loop rolled, 20 % slower
                {
                    int xo = xr, wo = wt;
                    FloatVector v0 = FloatVector.fromArray(S, xp, xo), v1 = FloatVector.fromArray(S, xp, xo + L);
                    FloatVector b0 = FloatVector.broadcast(S, wr[wo]);
                    a00 = v0.fma(b0, a00);
                    a01 = v1.fma(b0, a01);
                    FloatVector b1 = FloatVector.broadcast(S, wr[wo + 1]);
                    a10 = v0.fma(b1, a10);
                    a11 = v1.fma(b1, a11);
                    FloatVector b2 = FloatVector.broadcast(S, wr[wo + 2]);
                    a20 = v0.fma(b2, a20);
                    a21 = v1.fma(b2, a21);
                    FloatVector b3 = FloatVector.broadcast(S, wr[wo + 3]);
                    a30 = v0.fma(b3, a30);
                    a31 = v1.fma(b3, a31);
                    FloatVector b4 = FloatVector.broadcast(S, wr[wo + 4]);
                    a40 = v0.fma(b4, a40);
                    a41 = v1.fma(b4, a41);
                    FloatVector b5 = FloatVector.broadcast(S, wr[wo + 5]);
                    a50 = v0.fma(b5, a50);
                    a51 = v1.fma(b5, a51);
                    FloatVector b6 = FloatVector.broadcast(S, wr[wo + 6]);
                    a60 = v0.fma(b6, a60);
                    a61 = v1.fma(b6, a61);
                    FloatVector b7 = FloatVector.broadcast(S, wr[wo + 7]);
                    a70 = v0.fma(b7, a70);
                    a71 = v1.fma(b7, a71);
                }
                {
                    int xo = xr + 1, wo = wt + 1 * CO_BLOCK;
                    FloatVector v0 = FloatVector.fromArray(S, xp, xo), v1 = FloatVector.fromArray(S, xp, xo + L);
                    FloatVector b0 = FloatVector.broadcast(S, wr[wo]);
                    a00 = v0.fma(b0, a00);
                    a01 = v1.fma(b0, a01);
                    FloatVector b1 = FloatVector.broadcast(S, wr[wo + 1]);
                    a10 = v0.fma(b1, a10);
                    a11 = v1.fma(b1, a11);
                    FloatVector b2 = FloatVector.broadcast(S, wr[wo + 2]);
                    a20 = v0.fma(b2, a20);
                    a21 = v1.fma(b2, a21);
                    FloatVector b3 = FloatVector.broadcast(S, wr[wo + 3]);
                    a30 = v0.fma(b3, a30);
                    a31 = v1.fma(b3, a31);
                    FloatVector b4 = FloatVector.broadcast(S, wr[wo + 4]);
                    a40 = v0.fma(b4, a40);
                    a41 = v1.fma(b4, a41);
                    FloatVector b5 = FloatVector.broadcast(S, wr[wo + 5]);
                    a50 = v0.fma(b5, a50);
                    a51 = v1.fma(b5, a51);
                    FloatVector b6 = FloatVector.broadcast(S, wr[wo + 6]);
                    a60 = v0.fma(b6, a60);
                    a61 = v1.fma(b6, a61);
                    FloatVector b7 = FloatVector.broadcast(S, wr[wo + 7]);
                    a70 = v0.fma(b7, a70);
                    a71 = v1.fma(b7, a71);
                }
                {
                    int xo = xr + 2, wo = wt + 2 * CO_BLOCK;
                    FloatVector v0 = FloatVector.fromArray(S, xp, xo), v1 = FloatVector.fromArray(S, xp, xo + L);
                    FloatVector b0 = FloatVector.broadcast(S, wr[wo]);
                    a00 = v0.fma(b0, a00);
                    a01 = v1.fma(b0, a01);
                    FloatVector b1 = FloatVector.broadcast(S, wr[wo + 1]);
                    a10 = v0.fma(b1, a10);
                    a11 = v1.fma(b1, a11);
                    FloatVector b2 = FloatVector.broadcast(S, wr[wo + 2]);
                    a20 = v0.fma(b2, a20);
                    a21 = v1.fma(b2, a21);
                    FloatVector b3 = FloatVector.broadcast(S, wr[wo + 3]);
                    a30 = v0.fma(b3, a30);
                    a31 = v1.fma(b3, a31);
                    FloatVector b4 = FloatVector.broadcast(S, wr[wo + 4]);
                    a40 = v0.fma(b4, a40);
                    a41 = v1.fma(b4, a41);
                    FloatVector b5 = FloatVector.broadcast(S, wr[wo + 5]);
                    a50 = v0.fma(b5, a50);
                    a51 = v1.fma(b5, a51);
                    FloatVector b6 = FloatVector.broadcast(S, wr[wo + 6]);
                    a60 = v0.fma(b6, a60);
                    a61 = v1.fma(b6, a61);
                    FloatVector b7 = FloatVector.broadcast(S, wr[wo + 7]);
                    a70 = v0.fma(b7, a70);
                    a71 = v1.fma(b7, a71);
                }
            }
        }
        a00.intoArray(out, p);
        a01.intoArray(out, p + L);
        a10.intoArray(out, stride + p);
        a11.intoArray(out, stride + p + L);
        a20.intoArray(out, 2 * stride + p);
        a21.intoArray(out, 2 * stride + p + L);
        a30.intoArray(out, 3 * stride + p);
        a31.intoArray(out, 3 * stride + p + L);
        a40.intoArray(out, 4 * stride + p);
        a41.intoArray(out, 4 * stride + p + L);
        a50.intoArray(out, 5 * stride + p);
        a51.intoArray(out, 5 * stride + p + L);
        a60.intoArray(out, 6 * stride + p);
        a61.intoArray(out, 6 * stride + p + L);
        a70.intoArray(out, 7 * stride + p);
        a71.intoArray(out, 7 * stride + p + L);
    }

    /**
     * 8 output channels x L flat positions from p: 8 accumulators, one input load and eight weight
     * broadcasts per tap, for 16 registers, where the two-vector block's 16 accumulators spill
     * (AMD EPYC Zen 5 with -XX:UseAVX=2, one thread, 16 channels at 32x32: 70-80 against 62-78
     * GFLOPS of a 108 peak; 4 channels x 3 vectors and 6 x 2 reached 47-57).
     */
    static void block1(float[] xp, int x0, int padPlane, int rs, int cin, float[] wr, int w0, float[] out, int p, int stride) {
        FloatVector a00 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S);
        FloatVector a40 = FloatVector.zero(S);
        FloatVector a50 = FloatVector.zero(S);
        FloatVector a60 = FloatVector.zero(S);
        FloatVector a70 = FloatVector.zero(S);
        for (int ci = 0; ci < cin; ci++) {
            int xc = x0 + ci * padPlane, wc = w0 + ci * 9 * CO_BLOCK;
            for (int ki = 0; ki < 3; ki++) {
                int xr = xc + ki * rs, wt = wc + ki * 3 * CO_BLOCK;
                // the three taps of a kernel row written out: C2 left the kj loop rolled, 20 % slower
                {
                    int xo = xr, wo = wt;
                    FloatVector v0 = FloatVector.fromArray(S, xp, xo);
                    FloatVector b0 = FloatVector.broadcast(S, wr[wo]);
                    a00 = v0.fma(b0, a00);
                    FloatVector b1 = FloatVector.broadcast(S, wr[wo + 1]);
                    a10 = v0.fma(b1, a10);
                    FloatVector b2 = FloatVector.broadcast(S, wr[wo + 2]);
                    a20 = v0.fma(b2, a20);
                    FloatVector b3 = FloatVector.broadcast(S, wr[wo + 3]);
                    a30 = v0.fma(b3, a30);
                    FloatVector b4 = FloatVector.broadcast(S, wr[wo + 4]);
                    a40 = v0.fma(b4, a40);
                    FloatVector b5 = FloatVector.broadcast(S, wr[wo + 5]);
                    a50 = v0.fma(b5, a50);
                    FloatVector b6 = FloatVector.broadcast(S, wr[wo + 6]);
                    a60 = v0.fma(b6, a60);
                    FloatVector b7 = FloatVector.broadcast(S, wr[wo + 7]);
                    a70 = v0.fma(b7, a70);
                }
                {
                    int xo = xr + 1, wo = wt + 1 * CO_BLOCK;
                    FloatVector v0 = FloatVector.fromArray(S, xp, xo);
                    FloatVector b0 = FloatVector.broadcast(S, wr[wo]);
                    a00 = v0.fma(b0, a00);
                    FloatVector b1 = FloatVector.broadcast(S, wr[wo + 1]);
                    a10 = v0.fma(b1, a10);
                    FloatVector b2 = FloatVector.broadcast(S, wr[wo + 2]);
                    a20 = v0.fma(b2, a20);
                    FloatVector b3 = FloatVector.broadcast(S, wr[wo + 3]);
                    a30 = v0.fma(b3, a30);
                    FloatVector b4 = FloatVector.broadcast(S, wr[wo + 4]);
                    a40 = v0.fma(b4, a40);
                    FloatVector b5 = FloatVector.broadcast(S, wr[wo + 5]);
                    a50 = v0.fma(b5, a50);
                    FloatVector b6 = FloatVector.broadcast(S, wr[wo + 6]);
                    a60 = v0.fma(b6, a60);
                    FloatVector b7 = FloatVector.broadcast(S, wr[wo + 7]);
                    a70 = v0.fma(b7, a70);
                }
                {
                    int xo = xr + 2, wo = wt + 2 * CO_BLOCK;
                    FloatVector v0 = FloatVector.fromArray(S, xp, xo);
                    FloatVector b0 = FloatVector.broadcast(S, wr[wo]);
                    a00 = v0.fma(b0, a00);
                    FloatVector b1 = FloatVector.broadcast(S, wr[wo + 1]);
                    a10 = v0.fma(b1, a10);
                    FloatVector b2 = FloatVector.broadcast(S, wr[wo + 2]);
                    a20 = v0.fma(b2, a20);
                    FloatVector b3 = FloatVector.broadcast(S, wr[wo + 3]);
                    a30 = v0.fma(b3, a30);
                    FloatVector b4 = FloatVector.broadcast(S, wr[wo + 4]);
                    a40 = v0.fma(b4, a40);
                    FloatVector b5 = FloatVector.broadcast(S, wr[wo + 5]);
                    a50 = v0.fma(b5, a50);
                    FloatVector b6 = FloatVector.broadcast(S, wr[wo + 6]);
                    a60 = v0.fma(b6, a60);
                    FloatVector b7 = FloatVector.broadcast(S, wr[wo + 7]);
                    a70 = v0.fma(b7, a70);
                }
            }
        }
        a00.intoArray(out, p);
        a10.intoArray(out, stride + p);
        a20.intoArray(out, 2 * stride + p);
        a30.intoArray(out, 3 * stride + p);
        a40.intoArray(out, 4 * stride + p);
        a50.intoArray(out, 5 * stride + p);
        a60.intoArray(out, 6 * stride + p);
        a70.intoArray(out, 7 * stride + p);
    }

    /**
     * Each accumulator's lanes (stored in {@code lanes}, channel-major, 3 taps each) added in lane
     * order into dw, not by reduceLanes(ADD): its order is unspecified and differs between the
     * interpreter and C2's intrinsic, which made training depend on when the JIT compiled this
     * loop. Stored first and summed here rather than by one helper call per accumulator, which
     * pushed C2 past its inlining node limit (boxed vectors).
     */
    private static void addLanes(float[] lanes, int channels, float[] dw, int o, int oc) {
        for (int c = 0; c < channels; c++) {
            for (int t = 0; t < 3; t++) {
                float sum = 0f;
                for (int i = (c * 3 + t) * L, e = i + L; i < e; i++) sum += lanes[i];
                dw[o + c * oc + t] += sum;
            }
        }
    }
}
