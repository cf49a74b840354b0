package org.resnet4j.kernels;

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
 * output channels x {@link #POSITIONS} positions in registers (as {@link Gemm}'s, sized to the
 * register file: see {@link DirectConvKernels}) and per tap does one input load per vector of
 * positions and FMAs with weights broadcast from a repacked [cout/8][cin][9][8]
 * copy. The two padding columns of each flat row are computed and dropped while copying out,
 * and the inference epilogue is applied there. Checked against {@link ConvReference} and the
 * im2col path in the tests.
 */
final class DirectConv {
    private DirectConv() {}

    static final boolean ENABLED = !"false".equals(System.getProperty("resnet4j.conv.direct"));

    private static final VectorSpecies<Float> S = Hardware.FLOATS;
    static final int L = S.length();
    /** Output channels per forward micro-kernel (8: 16 accumulators at 512 bits; 4 with 8 ran at 152-176 GFLOPS). */
    static final int CO_BLOCK = Hardware.DIRECT_CHANNELS;
    /** Flat positions per forward micro-kernel: two vectors with 32 registers, one with 16 (see {@link DirectConvKernels}). */
    static final int POSITIONS = Hardware.DIRECT_POSITIONS;
    /**
     * Output channels per backward-weight block: with 32 registers {@link DirectConvKernels#tapRow8}'s
     * 24 accumulators (8 channels x 3 taps) ran 92-107 GFLOPS on resnet20's 16-channel layers
     * against 84-101 with 4 channels; with 16 registers the 4-channel form's 12 fit.
     */
    static final int WG_CO_BLOCK = Hardware.VECTOR_REGISTERS >= 32 ? 8 : 4;

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
        return s.sameSize3x3() && s.cout() % CO_BLOCK == 0;
    }

    /** Whether {@link Conv#backwardWeight} takes the direct path (see {@link #MAX_CIN_WEIGHT_GRADIENT}, {@link #MAX_CIN_COLUMNS}). */
    static boolean appliesToWeightGradient(ConvShape s) {
        return ENABLED && (supports(s) && s.cin() <= MAX_CIN_WEIGHT_GRADIENT || weightGradientByColumns(s) && s.cin() <= MAX_CIN_COLUMNS);
    }

    /** Whether backward-weight runs {@link DirectWeightGradient}: groups of images are split over the pool, so a batch needs a group per thread. */
    private static boolean weightGradientByColumns(ConvShape s) {
        return (WG_BY_COLUMNS || STRIDE_2_BY_COLUMNS && s.strideH() == 2) && DirectWeightGradient.supports(s)
                && s.n() >= DirectWeightGradient.IMAGES_PER_FLUSH * Parallel.threads();
    }

    static boolean applies(ConvShape s) {
        return ENABLED && (supports(s) && (s.cin() <= MAX_CIN || s.cin() <= MAX_CIN_LARGE && s.h() * s.w() >= LARGE_PLANE)
                || byColumns(s));
    }

    /**
     * Input channels up to which the kernels by columns are used on every plane size (16
     * registers). One thread at 256 bits, batch 128, against im2col + GEMM: 64 channels at 7x7
     * forward 36-48 -> 60-67 GFLOPS, backward-weight 50-73 -> 76-88; 32 at 14x14 forward 49-72 ->
     * 56-89, backward-weight 52-70 -> 77-87 (each position at its own base, small images side by
     * side: see {@link DirectForwardColumns}).
     */
    static final int MAX_CIN_COLUMNS = 64;

    /**
     * Whether {@link Conv#backwardData} runs {@link DirectDataColumns} (stride 2) instead of a GEMM
     * and col2im. One thread, medians of 7 after a first pass: at 256 bits everywhere the forward
     * is by columns, resnet20's 16 -> 32 at 28x28 (batch 128) 21 -> 41 GFLOPS, at 32x32 22 -> 43,
     * 32 -> 64 at 14x14 24 -> 46, resnet18's 64 -> 128 at 56x56 (batch 16) 56 -> 70, 128 -> 256 at
     * 28x28 58 -> 71, 256 -> 512 at 14x14 42 -> 71, resnet50's 128 -> 128 at 56x56 38 -> 59; at
     * 512 bits where dy's planes are at most {@link #STRIDED_DATA_PLANE_512} (32 -> 64 at 14x14
     * 46 -> 71, 128 -> 256 at 28x28 89 -> 100, 256 -> 512 at 14x14 59 -> 95), while on 28x28
     * planes the GEMM with 16-lane panels kept ahead (64 -> 128 at 56x56 110 -> 89, 128 -> 128 96
     * -> 93).
     */
    static boolean appliesToStridedData(ConvShape s) {
        return ENABLED && (FWD_BY_COLUMNS || STRIDE_2_BY_COLUMNS && s.outPixels() <= STRIDED_DATA_PLANE_512)
                && DirectDataColumns.supports(s) && s.n() >= 2 * Parallel.threads();
    }

    /** Largest dy plane (oh x ow) whose stride-2 backward-data is by columns at 512 bits. */
    static final int STRIDED_DATA_PLANE_512 = 16 * 16;

    /** Whether {@link #forward} runs {@link DirectForwardColumns}: images are split over the pool, so a batch needs two per thread. */
    private static boolean byColumns(ConvShape s) {
        return (FWD_BY_COLUMNS || STRIDE_2_BY_COLUMNS && s.strideH() == 2) && DirectForwardColumns.supports(s)
                && s.cin() <= MAX_CIN_COLUMNS && s.n() >= 2 * Parallel.threads();
    }

    /** y = conv(x, w), then the epilogue (may be null), as {@link Conv#forward}. */
    static void forward(ConvShape s, float[] x, float[] w, Epilogue e, float[] y) {
        if (byColumns(s)) {
            DirectForwardColumns.forward(s, x, w, e, y);
            return;
        }
        if (!supports(s)) throw new IllegalArgumentException("direct 3x3 convolution does not compute " + s);
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w();
        int rs = wd + 2, padPlane = (h + 2) * rs, flat = h * rs;
        int flatPadded = (flat + POSITIONS - 1) / POSITIONS * POSITIONS;
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
        Parallel.forRangeGuided(n * blocks, 1, (u0, u1) -> {
            float[] out = Workspace.get(Workspace.Slot.DIRECT_OUTPUT, CO_BLOCK * flatPadded);
            for (int u = u0; u < u1; u++) {
                int img = u / blocks, cb = u % blocks;
                int xBase = img * imageStride;
                for (int p = 0; p < flat; p += POSITIONS) {
                    if (POSITIONS == 2 * L) DirectConvKernels.block2(xp, xBase + p, padPlane, rs, cin, wr, cb * cin * 9 * CO_BLOCK, out, p, flatPadded);
                    else DirectConvKernels.block1(xp, xBase + p, padPlane, rs, cin, wr, cb * cin * 9 * CO_BLOCK, out, p, flatPadded);
                }
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
        backwardWeight(s, x, dy, dw, db, accumulate, weightGradientByColumns(s));
    }

    /**
     * With 16 registers backward-weight runs as {@link DirectWeightGradient}'s implicit GEMM where
     * the output channels fill its panels: one thread, 256 bits, resnet20's 16-channel layer at
     * batch 128 ran at 77-79 GFLOPS against 39-41 by {@link DirectConvKernels#tapRow4}'s lanes of
     * positions. With 32 registers {@link DirectConvKernels#tapRow8} stays (at 512 bits 16
     * channels are less than one panel of 2L).
     */
    static final boolean WG_BY_COLUMNS = Hardware.VECTOR_REGISTERS < 32;
    /**
     * Forward (and so backward-data) by columns ({@link DirectForwardColumns}) where backward-weight
     * is; {@code -Dresnet4j.conv.columns=false} keeps the lane forms, for A/B runs.
     */
    static final boolean FWD_BY_COLUMNS = WG_BY_COLUMNS && !"false".equals(System.getProperty("resnet4j.conv.columns"));
    /**
     * With 32 registers and 16 lanes (AVX-512) the kernels by columns take the stride-2 layers,
     * where the lane forms do not apply and im2col gathered every other column: one thread,
     * 512 bits, batch 128, forward 16 -> 32 at 32x32 42-55 -> 120-138 GFLOPS, 32 -> 64 at 14x14
     * 38-46 -> 124-128, backward-weight 24-32 -> 96-119 and 38-48 -> 79-105; resnet18's 64 -> 128 at
     * 56x56, batch 16, forward 119-122 -> 146-152, backward-weight 101-119 -> 135-142. Stride 1
     * keeps the lane forms and im2col there (64 channels at 8x8 forward 87-102 against 60-72 by
     * columns, 32 at 16x16 151-154 against 129); at 128 bits with 32 registers stride 2 was mixed
     * (16 -> 32 at 32x32 forward 18-24 -> 27-32, resnet18's 64 -> 128 36-42 -> 30-33): not switched.
     */
    static final boolean STRIDE_2_BY_COLUMNS = Hardware.VECTOR_REGISTERS >= 32 && Hardware.LANES >= 16
            && !"false".equals(System.getProperty("resnet4j.conv.columns"));

    /** As above, by columns (output channels in lanes, {@link DirectWeightGradient}) or by lanes of positions. */
    static void backwardWeight(ConvShape s, float[] x, float[] dy, float[] dw, float[] db, boolean accumulate, boolean byColumns) {
        if (byColumns ? !DirectWeightGradient.supports(s) : !supports(s))
            throw new IllegalArgumentException("direct 3x3 convolution does not compute " + s);
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w();
        int rs = wd + 2, padPlane = (h + 2) * rs, flat = h * rs, flatPadded = (flat + L - 1) / L * L;
        if (byColumns) {
            if (!accumulate) java.util.Arrays.fill(dw, 0, cout * cin * 9, 0f);
            DirectWeightGradient.backwardWeight(s, x, dy, dw);
            biasGradient(s, dy, db, accumulate);
            return;
        }
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
        Parallel.forRangeGuided(blocks, 1, (b0, b1) -> {
            float[] lanes = new float[WG_CO_BLOCK * 3 * L];
            for (int cb = b0; cb < b1; cb++) {
                for (int i0 = 0; i0 < n; i0 += IMAGES_PER_REDUCTION) {
                    int i1 = Math.min(n, i0 + IMAGES_PER_REDUCTION);
                    for (int ci = 0; ci < cin; ci++)
                        for (int ki = 0; ki < 3; ki++) {
                            if (WG_CO_BLOCK == 8) DirectConvKernels.tapRow8(xp, dyf, i0, i1, cb * WG_CO_BLOCK, ci, ki, cin, cout, padPlane, rs, flatPadded, dw, lanes);
                            else DirectConvKernels.tapRow4(xp, dyf, i0, i1, cb * WG_CO_BLOCK, ci, ki, cin, cout, padPlane, rs, flatPadded, dw, lanes);
                        }
                }
            }
        });
        biasGradient(s, dy, db, accumulate);
    }

    private static void biasGradient(ConvShape s, float[] dy, float[] db, boolean accumulate) {
        int n = s.n(), cout = s.cout(), p = s.outPixels();
        if (db != null) {
            for (int co = 0; co < cout; co++) {
                double sum = 0;
                for (int img = 0; img < n; img++) for (int i = 0, off = (img * cout + co) * p; i < p; i++) sum += dy[off + i];
                db[co] = (float) (accumulate ? db[co] + sum : sum);
            }
        }
    }
}
