package org.resnet4j.kernels;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;

/**
 * Convolution as im2col + {@link Gemm}, per image and per group:
 * forward Y_g = W_g x col(X_g); backward-data dX_g = col2im(W_g^T x dY_g);
 * backward-weight dW_g += dY_g x col(X_g)^T. A pointwise (1x1, stride 1) conv skips im2col.
 * Batches of at least {@code threads} images run one image per worker (serial GEMMs inside),
 * smaller batches run images in turn with a parallel GEMM. {@link ConvReference} is the scalar twin.
 */
public final class Conv {
    private Conv() {}

    // ---------------------------------------------------------------- forward
    /** y[n, cout, oh, ow] = conv(x[n, cin, h, w], w[cout, cin/groups, kh, kw]) + bias (bias may be null). */
    public static void forward(ConvShape s, float[] x, float[] w, float[] bias, float[] y) {
        forward(s, x, w, bias == null ? null : Epilogue.bias(bias), y);
    }

    /** Forward with an epilogue (null: none), applied while the output is in cache (per GEMM panel or direct block). */
    public static void forward(ConvShape s, float[] x, float[] w, Epilogue e, float[] y) {
        forward(s, x, w, e, y, false);
    }

    /**
     * As above; {@code weightsFixed}: inference, where the same weight array comes again with the
     * same values, so a transformed copy of it may be cached (see {@link Winograd}).
     */
    public static void forward(ConvShape s, float[] x, float[] w, Epilogue e, float[] y, boolean weightsFixed) {
        if (Winograd.applies(s)) {
            Winograd.forward(s, x, w, e, y, weightsFixed);
            return;
        }
        if (DirectConv.applies(s)) {
            DirectConv.forward(s, x, w, e, y);
            return;
        }
        forwardIm2col(s, x, w, e, y);
    }

    /**
     * Marks cached weight transforms stale. The optimizers call it after each step, and weight
     * loading and EMA swaps after copying; code that edits weights in place by other means should
     * too (a sampled fingerprint of each filter catches most edits anyway).
     */
    public static void weightsChanged() {
        Winograd.weightsChanged();
    }

    /** Forward by im2col + GEMM for every shape: the path {@link Winograd} is checked against. */
    static void forwardIm2col(ConvShape s, float[] x, float[] w, Epilogue e, float[] y) {
        if (blocked(s)) {
            for (int img = 0; img < s.n(); img++) forwardBlocked(s, x, w, e, y, img);
            return;
        }
        int packed = s.isPointwise() ? 0 : Gemm.packedSize(s.outPixels(), s.colRows());
        PerImage.run(s.n(), (img, col) -> {
            for (int g = 0; g < s.groups(); g++) {
                int wOff = g * s.coutPerGroup() * s.colRows();
                // the epilogue is applied by the GEMM to each column panel while it is still in cache
                if (s.isPointwise()) {
                    Gemm.gemm(false, false, s.coutPerGroup(), s.outPixels(), s.colRows(), w, wOff, s.colRows(),
                            x, inOffset(s, img, g), s.outPixels(), y, outOffset(s, img, g), s.outPixels(), false,
                            e, g * s.coutPerGroup());
                } else {
                    // im2col straight into the GEMM's panel layout: no separate packing pass
                    im2colPacked(s, x, img, g, col);
                    Gemm.gemmPacked(s.coutPerGroup(), s.outPixels(), s.colRows(), w, wOff, s.colRows(),
                            col, 0, y, outOffset(s, img, g), s.outPixels(), false, e, g * s.coutPerGroup());
                }
            }
        }, packed);
    }

    /** Bytes of im2col panels per block of {@link #forwardBlocked}: written, then read by the GEMM from L2. */
    private static final int BLOCK_BYTES = 256 * 1024;
    /** GEMM depth (im2col rows) up to which a batch-1 convolution is blocked over its columns. */
    static final int BLOCKED_MAX_DEPTH = 256;

    /**
     * Whether {@link #forwardIm2col} runs {@link #forwardBlocked}: images in turn (batch below the
     * thread count), one group, a short depth (the 3-channel stem's 147), and columns enough for
     * two blocks per thread. Deeper layers are not blocked: each block would read all of the
     * weights again, which the whole-image GEMM reads from L2 once per depth block.
     */
    static boolean blocked(ConvShape s) {
        return s.n() < Parallel.threads() && s.groups() == 1 && !s.isPointwise() && s.colRows() <= BLOCKED_MAX_DEPTH
                && s.outPixels() >= 2 * Parallel.threads() * Gemm.panelWidth() * panelsPerBlock(s);
    }

    private static int panelsPerBlock(ConvShape s) {
        return Math.max(1, BLOCK_BYTES / (4 * s.colRows() * Gemm.panelWidth()));
    }

    /**
     * One image's forward, im2col and GEMM interleaved block by block of output columns: the
     * threads take contiguous ranges of panels, and each writes a block's im2col panels (~256 KB)
     * and multiplies them at once, while they are in its L2. The whole-image im2col of the stem
     * (147 x 12544 floats, 7.4 MB) was written to memory and read back (bench --profile: 100
     * GFLOPS in the net against 346 for its GEMM alone).
     */
    static void forwardBlocked(ConvShape s, float[] x, float[] w, Epilogue e, float[] y, int img) {
        int p = s.outPixels(), k = s.colRows(), nr = Gemm.panelWidth(), perBlock = panelsPerBlock(s);
        Parallel.forRange((p + nr - 1) / nr, 1, (q0, q1) -> {
            float[] packed = Workspace.get(Workspace.Slot.COL, perBlock * nr * k);
            float[] scratch = SCRATCH_ROW.get();
            if (scratch.length < perBlock * nr) SCRATCH_ROW.set(scratch = new float[perBlock * nr]);
            for (int q = q0; q < q1; q += perBlock) {
                int j0 = q * nr, j1 = Math.min(p, Math.min(q1, q + perBlock) * nr);
                im2colBlock(s, x, img, j0, j1, packed, scratch);
                // inline: this runs inside the region
                Gemm.gemmPacked(s.cout(), j1 - j0, k, w, 0, k, packed, 0, y, outOffset(s, img, 0) + j0, p, false, e, 0);
            }
        });
    }

    /** Columns [j0, j1) of one image's im2col matrix, in the GEMM's panel layout from packed[0]. */
    private static void im2colBlock(ConvShape s, float[] x, int img, int j0, int j1, float[] packed, float[] scratch) {
        int k = s.colRows(), kk = s.kh() * s.kw(), ow = s.ow(), base = inOffset(s, img, 0), hw = s.h() * s.w();
        for (int r = 0; r < k; r++) {
            int c = r / kk, ki = r % kk / s.kw(), kj = r % s.kw();
            int dy = ki * s.dilH() - s.padH(), dx = kj * s.dilW() - s.padW();
            for (int oy = j0 / ow, last = (j1 - 1) / ow; oy <= last; oy++) {
                int a = oy == j0 / ow ? j0 % ow : 0, b = oy == last ? (j1 - 1) % ow + 1 : ow;
                row(s, x, base + c * hw, dy, dx, oy, a, b, scratch, oy * ow + a - j0);
            }
            dealOut(scratch, j1 - j0, k, r, packed);
        }
    }

    // ---------------------------------------------------------------- backward
    /** dx = d(loss)/d(x) given dy; overwrites dx. */
    public static void backwardData(ConvShape s, float[] dy, float[] w, float[] dx) {
        int rows = s.colRows(), coutG = s.coutPerGroup(), cinG = s.cinPerGroup(), kk = s.kh() * s.kw();
        int padH = s.dilH() * (s.kh() - 1) - s.padH(), padW = s.dilW() * (s.kw() - 1) - s.padW();
        if (s.strideH() == 1 && s.strideW() == 1 && padH >= 0 && padW >= 0 && !s.isPointwise()) {
            // Stride 1: the gradient of a convolution is a convolution of dy with the weights
            // flipped in space and transposed in channels, padded by dil*(k-1) - pad. That runs
            // on the fast im2col + GEMM path instead of scattering through col2im.
            float[] wf = Workspace.get(Workspace.Slot.WEIGHTS, w.length);
            for (int g = 0; g < s.groups(); g++)
                for (int co = 0; co < coutG; co++)
                    for (int ci = 0; ci < cinG; ci++)
                        for (int k = 0; k < kk; k++)
                            wf[((g * cinG + ci) * coutG + co) * kk + (kk - 1 - k)] = w[((g * coutG + co) * cinG + ci) * kk + k];
            ConvShape t = ConvShape.of(s.n(), s.cout(), s.oh(), s.ow(), s.cin(), s.kh(), s.kw(), 1, 1, padH, padW,
                    s.dilH(), s.dilW(), s.groups());
            forward(t, dy, wf, (Epilogue) null, dx);
            return;
        }
        if (DirectConv.appliesToStridedData(s)) {
            DirectDataColumns.backwardData(s, dy, w, dx);
            return;
        }
        // W_g^T once per call, [colRows x coutG] per group, so the per-image GEMMs read rows.
        float[] wt = Workspace.get(Workspace.Slot.WEIGHTS, w.length);
        for (int g = 0; g < s.groups(); g++) {
            int base = g * coutG * rows;
            for (int co = 0; co < coutG; co++)
                for (int r = 0; r < rows; r++) wt[base + r * coutG + co] = w[base + co * rows + r];
        }
        PerImage.run(s.n(), (img, col) -> {
            for (int g = 0; g < s.groups(); g++) {
                int wOff = g * coutG * rows;
                if (s.isPointwise()) {
                    Gemm.gemm(false, false, rows, s.outPixels(), coutG, wt, wOff, coutG,
                            dy, outOffset(s, img, g), s.outPixels(), dx, inOffset(s, img, g), s.outPixels(), false);
                } else {
                    Gemm.gemm(false, false, rows, s.outPixels(), coutG, wt, wOff, coutG,
                            dy, outOffset(s, img, g), s.outPixels(), col, 0, s.outPixels(), false);
                    col2im(s, col, dx, img, g);
                }
            }
        }, s.isPointwise() ? 0 : s.colRows() * s.outPixels());
    }

    /** Backward-weight GEMMs get at least this depth (images side by side) when the images are small. */
    static final int MIN_WEIGHT_GRAD_DEPTH = 256;

    /** dw (+)= d(loss)/d(w); db (+)= d(loss)/d(bias) when db is not null. Overwrites unless accumulate. */
    public static void backwardWeight(ConvShape s, float[] x, float[] dy, float[] dw, float[] db, boolean accumulate) {
        if (DirectConv.appliesToWeightGradient(s)) {
            DirectConv.backwardWeight(s, x, dy, dw, db, accumulate);
            return;
        }
        int workers = Math.min(Parallel.threads(), s.n());
        int rows = s.colRows(), coutG = s.coutPerGroup(), wsize = s.weightSize();
        // Computed transposed, dW_g^T [rows x coutG] += col [rows x P] * dY_g^T [P x coutG]: the
        // large im2col matrix is then the GEMM's A, read once in its natural row order, and only
        // the small dY is transposed while packing. Each worker sums its images into a private
        // buffer and the partials are added at the end, so no two threads write the same gradient.
        // Small images (7x7, 14x14) would give each GEMM a depth of only P = 49 or 196, too short
        // to amortize the micro-kernel's stores: batches of images are then laid side by side
        // along the depth (col and dY of `batch` images copied into one [rows x batch*P] and
        // [coutG x batch*P] matrix), one GEMM per batch. (bench --profile had resnet50's 7x7 and
        // 14x14 backward-weight at 37-56 GFLOPS per image, against 95-240 for the larger images.)
        int px = s.outPixels();
        // the partial sums live in the calling thread's workspace, one region per chunk (a pool
        // thread may run two chunks one after the other, so its own workspace would not do)
        float[] partial = Workspace.get(Workspace.Slot.ACC, workers * wsize);
        Arrays.fill(partial, 0, workers * wsize, 0f);
        Parallel.forRange(workers, 1, (t0, t1) -> {
            int accOff = t0 * wsize; // a chunk of several t sums them all into its region
            for (int t = t0; t < t1; t++) {
                int i0 = (int) ((long) s.n() * t / workers), i1 = (int) ((long) s.n() * (t + 1) / workers);
                int batch = Math.max(1, Math.min(i1 - i0, (MIN_WEIGHT_GRAD_DEPTH + px - 1) / px));
                float[] col = Workspace.get(Workspace.Slot.COL, s.isPointwise() && batch == 1 ? 0 : rows * px);
                float[] colB = batch == 1 ? null : Workspace.get(Workspace.Slot.COL_BATCH, rows * batch * px);
                float[] dyB = batch == 1 ? null : Workspace.get(Workspace.Slot.DY_BATCH, coutG * batch * px);
                for (int img0 = i0; img0 < i1; img0 += batch) {
                    int b = Math.min(batch, i1 - img0), depth = b * px;
                    for (int g = 0; g < s.groups(); g++) {
                        if (batch == 1) {
                            float[] src = colOf(s, x, img0, g, col);
                            Gemm.gemm(false, true, rows, coutG, px, src, src == x ? inOffset(s, img0, g) : 0, px,
                                    dy, outOffset(s, img0, g), px, partial, accOff + g * coutG * rows, coutG, true);
                            continue;
                        }
                        for (int j = 0; j < b; j++) {
                            float[] src = colOf(s, x, img0 + j, g, col);
                            int srcOff = src == x ? inOffset(s, img0 + j, g) : 0;
                            for (int r = 0; r < rows; r++) System.arraycopy(src, srcOff + r * px, colB, r * depth + j * px, px);
                            int dyOff = outOffset(s, img0 + j, g);
                            for (int co = 0; co < coutG; co++) System.arraycopy(dy, dyOff + co * px, dyB, co * depth + j * px, px);
                        }
                        Gemm.gemm(false, true, rows, coutG, depth, colB, 0, depth, dyB, 0, depth, partial, accOff + g * coutG * rows, coutG, true);
                    }
                }
            }
        });
        if (!accumulate) Arrays.fill(dw, 0, wsize, 0f);
        for (int t = 0; t < workers; t++) {
            for (int g = 0; g < s.groups(); g++) {
                int base = g * coutG * rows, pBase = t * wsize + base;
                for (int r = 0; r < rows; r++)
                    for (int co = 0; co < coutG; co++) dw[base + co * rows + r] += partial[pBase + r * coutG + co];
            }
        }
        if (db != null) {
            int p = s.outPixels();
            for (int co = 0; co < s.cout(); co++) {
                double sum = 0;
                for (int img = 0; img < s.n(); img++) {
                    int off = (img * s.cout() + co) * p;
                    for (int i = 0; i < p; i++) sum += dy[off + i];
                }
                db[co] = (float) (accumulate ? db[co] + sum : sum);
            }
        }
    }

    // ---------------------------------------------------------------- helpers
    private static int inOffset(ConvShape s, int img, int g) {
        return (img * s.cin() + g * s.cinPerGroup()) * s.h() * s.w();
    }

    private static int outOffset(ConvShape s, int img, int g) {
        return (img * s.cout() + g * s.coutPerGroup()) * s.outPixels();
    }

    /** The im2col matrix of (img, g): x itself for a pointwise conv, else filled into col. */
    private static float[] colOf(ConvShape s, float[] x, int img, int g, float[] col) {
        if (s.isPointwise()) return x;
        im2col(s, x, img, g, col);
        return col;
    }

    /** col[(c*kh + ki)*kw + kj][oy*ow + ox] = x[img, g*cinG + c, oy*sh - ph + ki*dh, ox*sw - pw + kj*dw] (0 outside). */
    static void im2col(ConvShape s, float[] x, int img, int g, float[] col) {
        int h = s.h(), w = s.w(), oh = s.oh(), ow = s.ow(), p = oh * ow;
        int base = inOffset(s, img, g);
        boolean sameWidth = s.strideH() == 1 && s.strideW() == 1 && ow == w;
        int row = 0;
        for (int c = 0; c < s.cinPerGroup(); c++) {
            int plane = base + c * h * w;
            for (int ki = 0; ki < s.kh(); ki++) {
                for (int kj = 0; kj < s.kw(); kj++, row++) {
                    int dy = ki * s.dilH() - s.padH(), dx = kj * s.dilW() - s.padW();
                    if (sameWidth) {
                        shiftedPlane(x, plane, h, w, oh, dy, dx, col, row * p);
                    } else {
                        rows(s, x, plane, dy, dx, col, row * p);
                    }
                }
            }
        }
    }

    private static final ThreadLocal<float[]> SCRATCH_ROW = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * im2col in {@link Gemm#gemmPacked}'s panel layout: each im2col row is built in a per-thread
     * scratch row (L1-resident) and dealt out to the panels. The rows are split over the compute
     * pool (rows, not input channels: the 3-channel stem has 147 of them), so a batch of one
     * image (run image by image, outside the pool) keeps every core busy; called from a pool
     * worker (one image per worker) it runs inline.
     */
    static void im2colPacked(ConvShape s, float[] x, int img, int g, float[] packed) {
        int p = s.outPixels();
        Parallel.forRange(s.colRows(), Math.max(1, (1 << 14) / p), (r0, r1) -> {
            float[] scratch = SCRATCH_ROW.get();
            if (scratch.length < p) SCRATCH_ROW.set(scratch = new float[p]);
            im2colPackedRows(s, x, img, g, packed, r0, r1, scratch);
        });
    }

    private static void im2colPackedRows(ConvShape s, float[] x, int img, int g, float[] packed, int r0, int r1, float[] scratch) {
        int h = s.h(), w = s.w(), p = s.outPixels(), k = s.colRows(), kk = s.kh() * s.kw();
        int base = inOffset(s, img, g);
        boolean sameWidth = s.strideH() == 1 && s.strideW() == 1 && s.ow() == w;
        for (int row = r0; row < r1; row++) {
            int c = row / kk, ki = row % kk / s.kw(), kj = row % s.kw();
            int plane = base + c * h * w;
            int dy = ki * s.dilH() - s.padH(), dx = kj * s.dilW() - s.padW();
            if (sameWidth) shiftedPlane(x, plane, h, w, s.oh(), dy, dx, scratch, 0);
            else rows(s, x, plane, dy, dx, scratch, 0);
            dealOut(scratch, p, k, row, packed);
        }
    }

    /** One im2col row of {@code cols} columns (in scratch) into its place in each panel; the last panel's padding zero. */
    private static void dealOut(float[] scratch, int cols, int k, int row, float[] packed) {
        int nr = Gemm.panelWidth(), panels = (cols + nr - 1) / nr, tail = cols - (panels - 1) * nr;
        for (int q = 0; q < panels - 1; q++) System.arraycopy(scratch, q * nr, packed, (q * k + row) * nr, nr);
        int last = ((panels - 1) * k + row) * nr;
        System.arraycopy(scratch, (panels - 1) * nr, packed, last, tail);
        if (tail < nr) Arrays.fill(packed, last + tail, last + nr, 0f);
    }

    private static void shiftedPlane(float[] x, int plane, int h, int w, int oh, int dy, int dx, float[] col, int dst) {
        int yLo = Math.max(0, -dy), yHi = Math.min(oh, h - dy);
        if (yHi <= yLo || Math.abs(dx) >= w) {
            Arrays.fill(col, dst, dst + oh * w, 0f);
            return;
        }
        if (yLo > 0) Arrays.fill(col, dst, dst + yLo * w, 0f);
        // src index of (oy, ox) is plane + (oy + dy) * w + ox + dx: contiguous in (oy, ox) for fixed (dy, dx)
        int from = yLo * w, to = yHi * w;                       // destination range within the row
        int srcFrom = plane + (yLo + dy) * w + dx, lead = 0, tail = 0;
        if (srcFrom < plane) lead = plane - srcFrom;             // dx < 0 at the first row: before the plane
        if (srcFrom + (to - from) > plane + h * w) tail = srcFrom + (to - from) - (plane + h * w);
        System.arraycopy(x, srcFrom + lead, col, dst + from + lead, to - from - lead - tail);
        if (lead > 0) Arrays.fill(col, dst + from, dst + from + lead, 0f);
        if (tail > 0) Arrays.fill(col, dst + to - tail, dst + to, 0f);
        // columns that wrapped into the neighbouring row are padding
        if (dx < 0) {
            for (int oy = yLo; oy < yHi; oy++) Arrays.fill(col, dst + oy * w, dst + oy * w - dx, 0f);
        } else if (dx > 0) {
            for (int oy = yLo; oy < yHi; oy++) Arrays.fill(col, dst + oy * w + w - dx, dst + oy * w + w, 0f);
        }
        if (yHi < oh) Arrays.fill(col, dst + yHi * w, dst + oh * w, 0f);
    }

    /** Lane i takes lane 2i of a vector pair: indices past the first vector select from the second. */
    private static final VectorShuffle<Float> EVEN_LANES = VectorShuffle.fromOp(Gemm.S, i -> 2 * i);

    /** The general case, one output row at a time. */
    private static void rows(ConvShape s, float[] x, int plane, int dy, int dx, float[] col, int dst) {
        for (int oy = 0; oy < s.oh(); oy++) row(s, x, plane, dy, dx, oy, 0, s.ow(), col, dst + oy * s.ow());
    }

    /** Output row oy, columns [a, b), of one im2col row (tap offset dy, dx in the input plane) into col from o. */
    private static void row(ConvShape s, float[] x, int plane, int dy, int dx, int oy, int a, int b, float[] col, int o) {
        int h = s.h(), w = s.w(), sw = s.strideW();
        int iy = oy * s.strideH() + dy;
        if (iy < 0 || iy >= h) {
            Arrays.fill(col, o, o + b - a, 0f);
            return;
        }
        // columns [lo, hi) read inside the row (ix = ox * sw + dx in [0, w)), with no bounds test
        // (the strided convolutions' im2col spent most of its time in the tested form); the rest is padding
        int lo = Math.min(b, Math.max(a, Math.floorDiv(-dx + sw - 1, sw)));
        int hi = Math.max(lo, Math.min(b, Math.floorDiv(w - dx + sw - 1, sw)));
        int d = o - a; // col index of output column ox: d + ox
        if (lo > a) Arrays.fill(col, o, d + lo, 0f);
        int ox = lo, ix = plane + iy * w + lo * sw + dx;
        if (sw == 1) {
            System.arraycopy(x, ix, col, d + lo, hi - lo);
        } else {
            if (sw == 2) {
                // stride 2 (the stem, downsampling layers): the even lanes of two vectors
                for (; ox + Gemm.L <= hi && ix + 2 * Gemm.L <= x.length; ox += Gemm.L, ix += 2 * Gemm.L) {
                    FloatVector v0 = FloatVector.fromArray(Gemm.S, x, ix), v1 = FloatVector.fromArray(Gemm.S, x, ix + Gemm.L);
                    v0.rearrange(EVEN_LANES, v1).intoArray(col, d + ox);
                }
            }
            for (; ox < hi; ox++, ix += sw) col[d + ox] = x[ix];
        }
        if (hi < b) Arrays.fill(col, d + hi, d + b, 0f);
    }

    /** The adjoint of im2col: dx[img, g] = sum of col entries over the positions each pixel fed. Overwrites. */
    static void col2im(ConvShape s, float[] col, float[] dx, int img, int g) {
        int h = s.h(), w = s.w(), oh = s.oh(), ow = s.ow(), p = oh * ow;
        int base = inOffset(s, img, g);
        Arrays.fill(dx, base, base + s.cinPerGroup() * h * w, 0f);
        int row = 0;
        for (int c = 0; c < s.cinPerGroup(); c++) {
            int plane = base + c * h * w;
            for (int ki = 0; ki < s.kh(); ki++) {
                for (int kj = 0; kj < s.kw(); kj++, row++) {
                    int src = row * p;
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * s.strideH() - s.padH() + ki * s.dilH();
                        if (iy < 0 || iy >= h) continue;
                        int dstRow = plane + iy * w;
                        int o = src + oy * ow;
                        int ix0 = kj * s.dilW() - s.padW();
                        if (s.strideW() == 1) {
                            int lo = Math.max(0, -ix0), hi = Math.min(ow, w - ix0);
                            int d = dstRow + ix0;
                            for (int ox = lo; ox < hi; ox++) dx[d + ox] += col[o + ox]; // no bounds test: vectorizes
                        } else {
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * s.strideW() + ix0;
                                if (ix >= 0 && ix < w) dx[dstRow + ix] += col[o + ox];
                            }
                        }
                    }
                }
            }
        }
    }
}
