package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Direct 3x3 stride-1 convolution for few channels, without an im2col matrix. With 16 input
 * channels im2col writes 9 floats per input float and the GEMM reuses each only cout times, so
 * the im2col path is bound by memory traffic (bench --profile: 81-106 GFLOPS for resnet20/56's
 * 16-channel layers against 150-170 for their 32- and 64-channel ones). See {@link #MAX_CIN}.
 *
 * <p>Here each image is zero-padded once, and a plane is treated as one flat row of stride
 * W + 2, so output position p = oy (W + 2) + ox reads input p + ki (W + 2) + kj for tap
 * (ki, kj): every tap is one contiguous vector load, for any width. A micro-kernel keeps 8
 * output channels x 2 vectors of positions in 16 accumulators (as {@link Gemm}'s) and per tap
 * does two input loads and 16 FMAs with weights broadcast from a repacked [cout/8][cin][9][8]
 * copy. The two padding columns of each flat row are computed and dropped while copying out,
 * and the inference epilogue is applied there. Checked against {@link ConvReference} and the
 * im2col path in the tests.
 */
final class DirectConv {
    private DirectConv() {}

    static final boolean ENABLED = !"false".equals(System.getProperty("resnet4j.conv.direct"));

    private static final VectorSpecies<Float> S = Hardware.FLOATS;
    static final int L = S.length();
    /** Output channels per forward micro-kernel (8: 16 accumulators; 4 with 8 ran at 152-176 GFLOPS). */
    static final int CO_BLOCK = Hardware.DIRECT_CHANNELS;
    /**
     * Output channels per backward-weight block: {@link #tapRow}'s 24 accumulators (8 channels x
     * 3 taps) ran 92-107 GFLOPS on resnet20's 16-channel layers against 84-101 with 4 channels.
     */
    private static final int WG_CO_BLOCK = 8;

    /**
     * Where the direct kernel is used, as measured per layer with {@code bench --profile}: up to 32
     * input channels (resnet20's 16- and 32-channel layers: 152-176 GFLOPS against 84-162 by
     * im2col), and up to 64 on planes of at least 32x32 (resnet18's 64 channels at 56x56, batch 1:
     * 156-171 against 119-120); 64 channels at 8x8 were even (133-158 against 127-163).
     */
    static final int MAX_CIN = 32, MAX_CIN_LARGE = 64, LARGE_PLANE = 32 * 32;

    /**
     * Input channels up to which backward-weight is direct: resnet20's 16-channel layers 94-97
     * GFLOPS against 67-82 by im2col; at 32 channels im2col was ahead (119-141 against 111-121).
     */
    static final int MAX_CIN_WEIGHT_GRADIENT = 16;

    static boolean supports(ConvShape s) {
        return s.kh() == 3 && s.kw() == 3 && s.strideH() == 1 && s.strideW() == 1 && s.dilH() == 1 && s.dilW() == 1
                && s.groups() == 1 && s.padH() == 1 && s.padW() == 1 && s.cout() % CO_BLOCK == 0;
    }

    /** Whether {@link Conv#backwardWeight} takes the direct path (see {@link #MAX_CIN_WEIGHT_GRADIENT}). */
    static boolean appliesToWeightGradient(ConvShape s) {
        return ENABLED && supports(s) && s.cin() <= MAX_CIN_WEIGHT_GRADIENT;
    }

    static boolean applies(ConvShape s) {
        return ENABLED && supports(s) && (s.cin() <= MAX_CIN || s.cin() <= MAX_CIN_LARGE && s.h() * s.w() >= LARGE_PLANE);
    }

    /** y = conv(x, w), then the epilogue (may be null), as {@link Conv#forward}. */
    static void forward(ConvShape s, float[] x, float[] w, Epilogue e, float[] y) {
        if (!supports(s)) throw new IllegalArgumentException("direct 3x3 convolution does not compute " + s);
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w();
        int rs = wd + 2, padPlane = (h + 2) * rs, flat = h * rs;
        int flatPadded = (flat + 2 * L - 1) / (2 * L) * (2 * L);
        // the last vectors of a plane may read up to 2L - 1 + 2 rs + 2 floats past the plane's output rows
        int imageStride = cin * padPlane, slack = 2 * L + 2 * rs + 2;
        float[] xp = padded(x, n * cin, h, wd, slack);
        float[] wr = Workspace.get(Workspace.Slot.DIRECT_WEIGHTS, cout * cin * 9);
        int blocks = cout / CO_BLOCK;
        for (int cb = 0; cb < blocks; cb++)
            for (int ci = 0; ci < cin; ci++)
                for (int t = 0; t < 9; t++)
                    for (int c = 0; c < CO_BLOCK; c++)
                        wr[((cb * cin + ci) * 9 + t) * CO_BLOCK + c] = w[((cb * CO_BLOCK + c) * cin + ci) * 9 + t];
        Parallel.forRange(n * blocks, 1, (u0, u1) -> {
            float[] out = Workspace.get(Workspace.Slot.DIRECT_OUTPUT, CO_BLOCK * flatPadded);
            for (int u = u0; u < u1; u++) {
                int img = u / blocks, cb = u % blocks;
                int xBase = img * imageStride;
                for (int p = 0; p < flat; p += 2 * L) block(xp, xBase + p, padPlane, rs, cin, wr, cb * cin * 9 * CO_BLOCK, out, p, flatPadded);
                int y0 = (img * cout + cb * CO_BLOCK) * h * wd;
                for (int c = 0; c < CO_BLOCK; c++) { // drop the two padding columns of each flat row
                    int yb = y0 + c * h * wd, ob = c * flatPadded;
                    for (int r = 0; r < h; r++) System.arraycopy(out, ob + r * rs, y, yb + r * wd, wd);
                }
                if (e != null) e.apply(cb * CO_BLOCK, y, y0, h * wd, CO_BLOCK, h * wd); // while in cache
            }
        });
    }

    /**
     * The planes of x zero-padded by one on every side, each (h + 2) x (w + 2), then {@code slack}
     * zeros, in the calling thread's DIRECT_INPUT workspace.
     */
    private static float[] padded(float[] x, int planes, int h, int w, int slack) {
        int rs = w + 2, padPlane = (h + 2) * rs;
        float[] xp = Workspace.get(Workspace.Slot.DIRECT_INPUT, planes * padPlane + slack);
        Parallel.forRange(planes, Math.max(1, 4096 / padPlane), (p0, p1) -> {
            for (int pl = p0; pl < p1; pl++) {
                int src = pl * h * w, dst = pl * padPlane;
                java.util.Arrays.fill(xp, dst, dst + rs + 1, 0f);
                for (int r = 0; r < h; r++) {
                    int d = dst + (r + 1) * rs + 1;
                    System.arraycopy(x, src + r * w, xp, d, w);
                    xp[d + w] = 0f;
                    xp[d + w + 1] = 0f;
                }
                java.util.Arrays.fill(xp, dst + (h + 1) * rs + 1, dst + padPlane, 0f);
            }
        });
        java.util.Arrays.fill(xp, planes * padPlane, planes * padPlane + slack, 0f);
        return xp;
    }

    /** Images summed in vector lanes before one reduction per weight (fewer reductions, bounded float sums). */
    private static final int IMAGES_PER_REDUCTION = 8;

    /**
     * dw (+)= d(loss)/d(w), db (+)= d(loss)/d(bias) (db may be null), as {@link Conv#backwardWeight}.
     * dW[co][ci][ki][kj] = sum over images and flat positions p of dy[co][p] x[ci][p + ki (w + 2) + kj],
     * with dy laid out in the same flat rows (zero in the two padding columns, so they add nothing).
     * Blocks of output channels are split over the pool, so each weight has one writer and a
     * fixed summation order. (One (co, ci) with its 9 taps in 9 accumulators, 10 loads per 9
     * FMAs, measured slower than im2col: 64-80 GFLOPS.)
     */
    static void backwardWeight(ConvShape s, float[] x, float[] dy, float[] dw, float[] db, boolean accumulate) {
        if (!supports(s)) throw new IllegalArgumentException("direct 3x3 convolution does not compute " + s);
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w();
        int rs = wd + 2, padPlane = (h + 2) * rs, flat = h * rs, flatPadded = (flat + L - 1) / L * L;
        float[] xp = padded(x, n * cin, h, wd, L + 2 * rs + 2);
        float[] dyf = Workspace.get(Workspace.Slot.DIRECT_GRAD, n * cout * flatPadded);
        Parallel.forRange(n * cout, Math.max(1, 4096 / flatPadded), (p0, p1) -> {
            for (int pl = p0; pl < p1; pl++) {
                int src = pl * h * wd, dst = pl * flatPadded;
                java.util.Arrays.fill(dyf, dst, dst + flatPadded, 0f);
                for (int r = 0; r < h; r++) System.arraycopy(dy, src + r * wd, dyf, dst + r * rs, wd);
            }
        });
        if (!accumulate) java.util.Arrays.fill(dw, 0, cout * cin * 9, 0f);
        int blocks = cout / WG_CO_BLOCK;
        Parallel.forRange(blocks, 1, (b0, b1) -> {
            float[] lanes = new float[WG_CO_BLOCK * 3 * L];
            for (int cb = b0; cb < b1; cb++) {
                for (int i0 = 0; i0 < n; i0 += IMAGES_PER_REDUCTION) {
                    int i1 = Math.min(n, i0 + IMAGES_PER_REDUCTION);
                    for (int ci = 0; ci < cin; ci++)
                        for (int ki = 0; ki < 3; ki++) tapRow(xp, dyf, i0, i1, cb * WG_CO_BLOCK, ci, ki, cin, cout, padPlane, rs, flatPadded, dw, lanes);
                }
            }
        });
        if (db != null) {
            for (int co = 0; co < cout; co++) {
                double sum = 0;
                for (int img = 0; img < n; img++) for (int i = 0, off = (img * cout + co) * h * wd; i < h * wd; i++) sum += dy[off + i];
                db[co] = (float) (accumulate ? db[co] + sum : sum);
            }
        }
    }

    /**
     * dW[co0..co0+7][ci][ki][0..2] over images [i0, i1), added into dw: 24 vector accumulators fed
     * by 8 dy loads and 3 input loads per position vector.
     */
    private static void tapRow(float[] xp, float[] dyf, int i0, int i1, int co0, int ci, int ki, int cin, int cout, int padPlane,
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
        // Each accumulator's lanes added in lane order, not by reduceLanes(ADD): its order is
        // unspecified and differs between the interpreter and C2's intrinsic, which made training
        // depend on when the JIT compiled this loop. Stored first and summed here rather than by
        // 24 calls of a helper, which pushed C2 past its inlining node limit (boxed vectors).
        for (int c = 0; c < WG_CO_BLOCK; c++) {
            for (int t = 0; t < 3; t++) {
                float sum = 0f;
                for (int i = (c * 3 + t) * L, e = i + L; i < e; i++) sum += lanes[i];
                dw[o + c * oc + t] += sum;
            }
        }
    }

    /**
     * 8 output channels x 2L flat positions from p (the register block of {@link Gemm}'s 8x32
     * micro-kernel: per tap two input loads and eight weight broadcasts feed 16 FMAs).
     */
    private static void block(float[] xp, int x0, int padPlane, int rs, int cin, float[] wr, int w0, float[] out, int p, int stride) {
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S);
        FloatVector a40 = FloatVector.zero(S), a41 = FloatVector.zero(S);
        FloatVector a50 = FloatVector.zero(S), a51 = FloatVector.zero(S);
        FloatVector a60 = FloatVector.zero(S), a61 = FloatVector.zero(S);
        FloatVector a70 = FloatVector.zero(S), a71 = FloatVector.zero(S);
        for (int ci = 0; ci < cin; ci++) {
            int xc = x0 + ci * padPlane, wc = w0 + ci * 9 * CO_BLOCK;
            for (int ki = 0; ki < 3; ki++) {
                for (int kj = 0; kj < 3; kj++) {
                    int xo = xc + ki * rs + kj;
                    FloatVector v0 = FloatVector.fromArray(S, xp, xo), v1 = FloatVector.fromArray(S, xp, xo + L);
                    int wo = wc + (ki * 3 + kj) * CO_BLOCK;
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
}
