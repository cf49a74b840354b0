package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply, row-major: C[m x n] (+)= op(A)[m x k] * op(B)[k x n].
 *
 * <p>op(A) is A (stored m x k, leading dimension lda) or, with transA, A stored k x m.
 * op(B) is B (stored k x n) or, with transB, B stored n x k. {@code accumulate} adds to C
 * instead of overwriting it (the beta = 1 of BLAS).
 *
 * <p>Structure (after the BLIS/GotoBLAS papers): per depth block of {@link #KC}, a worker packs
 * B into 32-column panels and, when it runs enough columns to earn it back (see
 * {@link #PACK_A_MIN_COLUMNS}), its rows of A into 8-row micro-panels (one contiguous stream for
 * the micro-kernel, transA absorbed by the packing); an 8 x 32 micro-kernel keeps 16 512-bit
 * accumulators in registers (AVX-512 has 32). The work is split over column panels, or
 * over rows when n is small, across the compute pool. {@link GemmReference} is the scalar twin
 * used by the tests.
 *
 * <p>C2 keeps the 16 accumulators in registers only while the whole kernel inlines: each
 * Vector API call expands to many IR nodes, and a kernel that also called a store helper with
 * an accumulate branch hit C2's node-count inlining cutoff, boxed its vectors and ran at ~30
 * GFLOPS. The kernels therefore start from C (accumulate) or zero and end in plain stores.
 */
public final class Gemm {
    static final VectorSpecies<Float> S = Hardware.FLOATS;
    static final int L = Hardware.LANES;  // lanes of S
    static final int NR = Hardware.GEMM_COLUMNS;  // panel width
    static final int MR = Hardware.GEMM_ROWS;     // rows per micro-kernel (and per packed A micro-panel)
    static final int KC = 256;        // depth of one packed panel (128..512 measured within noise)
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[KC * NR]);
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[MR * NR]);

    private Gemm() {}

    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate, null, 0);
    }

    /**
     * As above, then {@code epilogue} (null: none) on the result, rows being its channels from
     * {@code epilogueRow} on: applied to each column panel right after its last depth block,
     * while the panel is still in cache, instead of in a pass of its own over C.
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate, Epilogue epilogue, int epilogueRow) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (!accumulate) clear(m, n, c, cOff, ldc);
            if (epilogue != null) epilogue.apply(epilogueRow, c, cOff, ldc, m, n);
            return;
        }
        split(m, n, (i0, i1, j0, j1) -> worker(transA, transB, i0, i1, j0, j1, k, a, aOff, lda, b, bOff, ldb, false,
                c, cOff, ldc, accumulate, epilogue, epilogueRow));
    }

    /** The rows [i0, i1) x columns [j0, j1) of C that one worker computes. */
    @FunctionalInterface
    private interface Block {
        void run(int i0, int i1, int j0, int j1);
    }

    /**
     * Splits C over the pool: by column panels, unless they are too few to share and there are
     * rows enough, then by 8-row groups.
     */
    private static void split(int m, int n, Block block) {
        int panels = (n + NR - 1) / NR;
        boolean byPanels = panels >= 2 * Parallel.threads() || m < 2 * MR * Parallel.threads();
        int units = byPanels ? panels : (m + MR - 1) / MR;
        Parallel.forRange(units, 1, (u0, u1) -> {
            if (byPanels) block.run(0, m, u0 * NR, Math.min(n, u1 * NR));
            else block.run(u0 * MR, Math.min(m, u1 * MR), 0, n);
        });
    }

    /**
     * A worker packs A only when it then runs at least this many columns against it (or when A
     * is transposed): packing costs about as much per element as ~60 flops, which short GEMMs
     * (a 1x1 convolution on a 7x7 or 14x14 map: 49 or 196 columns) do not earn back, while long
     * ones gain from one contiguous A stream (sgemm n=2048: 300-330 against 270-290 GFLOPS).
     */
    static final int PACK_A_MIN_COLUMNS = 512;

    /**
     * C[i0:i1, j0:j1] (+)= op(A)[i0:i1, :] * op(B)[:, j0:j1], one depth block at a time. B is
     * packed here panel by panel, or {@code prePacked} (see {@link #gemmPacked}).
     */
    private static void worker(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k,
                               float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean prePacked,
                               float[] c, int cOff, int ldc, boolean accumulate, Epilogue epilogue, int epilogueRow) {
        boolean packA = transA || j1 - j0 >= PACK_A_MIN_COLUMNS;
        float[] ap = packA ? packedA(i1 - i0, k) : null, panel = prePacked ? b : PANEL.get();
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = Math.min(KC, k - k0);
            boolean acc = accumulate || k0 > 0;
            if (packA) packA(transA, a, aOff, lda, i0, i1, k0, kc, ap);
            for (int j = j0; j < j1; j += NR) {
                int nr = Math.min(NR, j1 - j), pOff = 0, out = cOff + i0 * ldc + j;
                if (prePacked) pOff = bOff + (j / NR * k + k0) * NR;
                else packB(transB, b, bOff, ldb, k0, kc, j, nr, panel);
                if (packA) rows(true, i1 - i0, kc, ap, 0, 0, panel, pOff, c, out, ldc, nr, acc);
                else rows(false, i1 - i0, kc, a, aOff + i0 * lda + k0, lda, panel, pOff, c, out, ldc, nr, acc);
                if (epilogue != null && k0 + kc == k) epilogue.apply(epilogueRow + i0, c, out, ldc, i1 - i0, nr);
            }
        }
    }

    private static void clear(int m, int n, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
    }

    /** This thread's buffer for m rows of A packed at depth up to min(k, KC). */
    private static float[] packedA(int m, int k) {
        return Workspace.get(Workspace.Slot.GEMM_A, (m + MR - 1) / MR * MR * Math.min(k, KC));
    }

    /**
     * Packs op(A)[i0:i1, k0:k0+kc] as 8-row micro-panels: row i0 + g*MR + r, depth kk at
     * {@code ap[g*MR*kc + kk*MR + r]}; the rows that pad the last micro-panel are zero.
     */
    private static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int i1, int k0, int kc, float[] ap) {
        for (int g0 = i0; g0 < i1; g0 += MR) {
            int base = (g0 - i0) * kc, rows = Math.min(MR, i1 - g0);
            if (transA) {
                // A stored k x m: the MR rows of a micro-panel are contiguous at each depth
                for (int kk = 0; kk < kc; kk++) {
                    int src = aOff + (k0 + kk) * lda + g0, dst = base + kk * MR;
                    System.arraycopy(a, src, ap, dst, rows);
                    for (int r = rows; r < MR; r++) ap[dst + r] = 0f;
                }
            } else {
                for (int r = 0; r < MR; r++) {
                    if (r < rows) {
                        int src = aOff + (g0 + r) * lda + k0;
                        for (int kk = 0; kk < kc; kk++) ap[base + kk * MR + r] = a[src + kk];
                    } else {
                        for (int kk = 0; kk < kc; kk++) ap[base + kk * MR + r] = 0f;
                    }
                }
            }
        }
    }

    /**
     * m rows of A against one column panel of depth kc, into C at cOff. A is {@code packed} (8-row
     * micro-panels from aOff, see {@link #packA}) or read in place (row r at aOff + r * lda). Full
     * 8 x 32 tiles go straight to C; leftover rows of a full panel take the one-row kernel. A
     * panel cut short by n is computed whole into a per-thread scratch tile (the panel's padding
     * columns are zero) and only its real columns are copied out, which keeps the kernels' stores
     * unmasked (masked stores and per-call scratch arrays both measured several times slower).
     */
    private static void rows(boolean packed, int m, int kc, float[] a, int aOff, int lda, float[] panel, int pOff,
                             float[] c, int cOff, int ldc, int nr, boolean acc) {
        float[] tile = nr == NR ? c : EDGE.get();
        int tOff = nr == NR ? cOff : 0, ldt = nr == NR ? ldc : NR;
        boolean tAcc = nr == NR && acc;
        int rowStride = packed ? 1 : lda, depthStride = packed ? MR : 1;
        for (int r0 = 0; r0 < m; r0 += MR) {
            int rows = Math.min(MR, m - r0), g = aOff + r0 * (packed ? kc : lda), t = tOff + (nr == NR ? r0 * ldc : 0);
            if (rows == MR && packed) kernel8x32Packed(a, g, panel, pOff, kc, tile, t, ldt, tAcc);
            else if (rows == MR) kernel8x32Rows(a, g, lda, panel, pOff, kc, tile, t, ldt, tAcc);
            else for (int r = 0; r < rows; r++) kernel1x32(a, g + r * rowStride, depthStride, panel, pOff, kc, tile, t + r * ldt, tAcc);
            if (nr < NR) copyTile(tile, rows, c, cOff + r0 * ldc, ldc, nr, acc);
        }
    }

    /** The first nr columns of a scratch tile's rows into (or onto) C. */
    private static void copyTile(float[] tile, int rows, float[] c, int cOff, int ldc, int nr, boolean acc) {
        for (int r = 0; r < rows; r++) {
            int t = r * NR, o = cOff + r * ldc;
            if (acc) {
                for (int jj = 0; jj < nr; jj++) c[o + jj] += tile[t + jj];
            } else {
                System.arraycopy(tile, t, c, o, nr);
            }
        }
    }

    // ---------------------------------------------------------------- pre-packed B
    /** Columns per packed panel (the micro-kernel's width). */
    public static int panelWidth() {
        return NR;
    }

    /** Floats of a pre-packed k x n matrix: whole panels of {@link #panelWidth()} columns, zero-padded. */
    public static int packedSize(int n, int k) {
        return (n + NR - 1) / NR * k * NR;
    }

    /**
     * C[m x n] (+)= A[m x k] * B where B is already packed (by a producer such as im2col) as
     * panels: element (kk, j) at {@code packed[bOff + ((j / NR) * k + kk) * NR + j % NR]}, columns
     * past n zero. Skips the packing pass that dominates when m is small. The epilogue (null:
     * none) as in {@link #gemm(boolean, boolean, int, int, int, float[], int, int, float[], int, int,
     * float[], int, int, boolean, Epilogue, int)}.
     */
    public static void gemmPacked(int m, int n, int k, float[] a, int aOff, int lda, float[] packed, int bOff,
                                  float[] c, int cOff, int ldc, boolean accumulate, Epilogue epilogue, int epilogueRow) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (!accumulate) clear(m, n, c, cOff, ldc);
            if (epilogue != null) epilogue.apply(epilogueRow, c, cOff, ldc, m, n);
            return;
        }
        split(m, n, (i0, i1, j0, j1) -> worker(false, false, i0, i1, j0, j1, k, a, aOff, lda, packed, bOff, 0, true,
                c, cOff, ldc, accumulate, epilogue, epilogueRow));
    }

    /** Packs op(B)[k0:k0+kc, j:j+nr] into panel[kk*NR + jj], zero-filling columns past nr. */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int k0, int kc, int j, int nr, float[] panel) {
        if (!transB) {
            for (int kk = 0; kk < kc; kk++) {
                int src = bOff + (k0 + kk) * ldb + j;
                int dst = kk * NR;
                System.arraycopy(b, src, panel, dst, nr);
                for (int jj = nr; jj < NR; jj++) panel[dst + jj] = 0f;
            }
        } else {
            for (int jj = 0; jj < NR; jj++) {
                if (jj < nr) {
                    int src = bOff + (j + jj) * ldb + k0;
                    for (int kk = 0; kk < kc; kk++) panel[kk * NR + jj] = b[src + kk];
                } else {
                    for (int kk = 0; kk < kc; kk++) panel[kk * NR + jj] = 0f;
                }
            }
        }
    }

    /**
     * C[8 x 32] (+)= A micro-panel [8 x kc] * B panel [kc x 32]: 16 accumulators, per depth step
     * two panel loads, eight broadcasts and sixteen FMAs.
     */
    private static void kernel8x32Packed(float[] ap, int aOff, float[] p, int pOff, int kc, float[] c, int cOff, int ldc, boolean acc) {
        FloatVector c00 = acc ? FloatVector.fromArray(S, c, cOff) : FloatVector.zero(S);
        FloatVector c01 = acc ? FloatVector.fromArray(S, c, cOff + L) : FloatVector.zero(S);
        FloatVector c10 = acc ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : FloatVector.zero(S);
        FloatVector c11 = acc ? FloatVector.fromArray(S, c, cOff + 1 * ldc + L) : FloatVector.zero(S);
        FloatVector c20 = acc ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : FloatVector.zero(S);
        FloatVector c21 = acc ? FloatVector.fromArray(S, c, cOff + 2 * ldc + L) : FloatVector.zero(S);
        FloatVector c30 = acc ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : FloatVector.zero(S);
        FloatVector c31 = acc ? FloatVector.fromArray(S, c, cOff + 3 * ldc + L) : FloatVector.zero(S);
        FloatVector c40 = acc ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : FloatVector.zero(S);
        FloatVector c41 = acc ? FloatVector.fromArray(S, c, cOff + 4 * ldc + L) : FloatVector.zero(S);
        FloatVector c50 = acc ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : FloatVector.zero(S);
        FloatVector c51 = acc ? FloatVector.fromArray(S, c, cOff + 5 * ldc + L) : FloatVector.zero(S);
        FloatVector c60 = acc ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : FloatVector.zero(S);
        FloatVector c61 = acc ? FloatVector.fromArray(S, c, cOff + 6 * ldc + L) : FloatVector.zero(S);
        FloatVector c70 = acc ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : FloatVector.zero(S);
        FloatVector c71 = acc ? FloatVector.fromArray(S, c, cOff + 7 * ldc + L) : FloatVector.zero(S);
        for (int kk = 0; kk < kc; kk++) {
            int pb = pOff + kk * NR, ab = aOff + kk * MR;
            FloatVector b0 = FloatVector.fromArray(S, p, pb), b1 = FloatVector.fromArray(S, p, pb + L);
            FloatVector x0 = FloatVector.broadcast(S, ap[ab]);
            c00 = x0.fma(b0, c00);
            c01 = x0.fma(b1, c01);
            FloatVector x1 = FloatVector.broadcast(S, ap[ab + 1]);
            c10 = x1.fma(b0, c10);
            c11 = x1.fma(b1, c11);
            FloatVector x2 = FloatVector.broadcast(S, ap[ab + 2]);
            c20 = x2.fma(b0, c20);
            c21 = x2.fma(b1, c21);
            FloatVector x3 = FloatVector.broadcast(S, ap[ab + 3]);
            c30 = x3.fma(b0, c30);
            c31 = x3.fma(b1, c31);
            FloatVector x4 = FloatVector.broadcast(S, ap[ab + 4]);
            c40 = x4.fma(b0, c40);
            c41 = x4.fma(b1, c41);
            FloatVector x5 = FloatVector.broadcast(S, ap[ab + 5]);
            c50 = x5.fma(b0, c50);
            c51 = x5.fma(b1, c51);
            FloatVector x6 = FloatVector.broadcast(S, ap[ab + 6]);
            c60 = x6.fma(b0, c60);
            c61 = x6.fma(b1, c61);
            FloatVector x7 = FloatVector.broadcast(S, ap[ab + 7]);
            c70 = x7.fma(b0, c70);
            c71 = x7.fma(b1, c71);
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + 1 * ldc);
        c11.intoArray(c, cOff + 1 * ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + L);
    }

    /**
     * The same product with A's eight rows read where they are. Its twin above differs only in
     * where the broadcasts read: one kernel with the strides as parameters ran 20-35 % slower
     * than either (C2 keeps the constant-stride address arithmetic out of the loop).
     */
    private static void kernel8x32Rows(float[] a, int aOff, int lda, float[] p, int pOff, int kc, float[] c, int cOff, int ldc, boolean acc) {
        FloatVector c00 = acc ? FloatVector.fromArray(S, c, cOff) : FloatVector.zero(S);
        FloatVector c01 = acc ? FloatVector.fromArray(S, c, cOff + L) : FloatVector.zero(S);
        FloatVector c10 = acc ? FloatVector.fromArray(S, c, cOff + 1 * ldc) : FloatVector.zero(S);
        FloatVector c11 = acc ? FloatVector.fromArray(S, c, cOff + 1 * ldc + L) : FloatVector.zero(S);
        FloatVector c20 = acc ? FloatVector.fromArray(S, c, cOff + 2 * ldc) : FloatVector.zero(S);
        FloatVector c21 = acc ? FloatVector.fromArray(S, c, cOff + 2 * ldc + L) : FloatVector.zero(S);
        FloatVector c30 = acc ? FloatVector.fromArray(S, c, cOff + 3 * ldc) : FloatVector.zero(S);
        FloatVector c31 = acc ? FloatVector.fromArray(S, c, cOff + 3 * ldc + L) : FloatVector.zero(S);
        FloatVector c40 = acc ? FloatVector.fromArray(S, c, cOff + 4 * ldc) : FloatVector.zero(S);
        FloatVector c41 = acc ? FloatVector.fromArray(S, c, cOff + 4 * ldc + L) : FloatVector.zero(S);
        FloatVector c50 = acc ? FloatVector.fromArray(S, c, cOff + 5 * ldc) : FloatVector.zero(S);
        FloatVector c51 = acc ? FloatVector.fromArray(S, c, cOff + 5 * ldc + L) : FloatVector.zero(S);
        FloatVector c60 = acc ? FloatVector.fromArray(S, c, cOff + 6 * ldc) : FloatVector.zero(S);
        FloatVector c61 = acc ? FloatVector.fromArray(S, c, cOff + 6 * ldc + L) : FloatVector.zero(S);
        FloatVector c70 = acc ? FloatVector.fromArray(S, c, cOff + 7 * ldc) : FloatVector.zero(S);
        FloatVector c71 = acc ? FloatVector.fromArray(S, c, cOff + 7 * ldc + L) : FloatVector.zero(S);
        int a1 = aOff + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
        for (int kk = 0; kk < kc; kk++) {
            int pb = pOff + kk * NR;
            FloatVector b0 = FloatVector.fromArray(S, p, pb), b1 = FloatVector.fromArray(S, p, pb + L);
            FloatVector x0 = FloatVector.broadcast(S, a[aOff + kk]);
            c00 = x0.fma(b0, c00);
            c01 = x0.fma(b1, c01);
            FloatVector x1 = FloatVector.broadcast(S, a[a1 + kk]);
            c10 = x1.fma(b0, c10);
            c11 = x1.fma(b1, c11);
            FloatVector x2 = FloatVector.broadcast(S, a[a2 + kk]);
            c20 = x2.fma(b0, c20);
            c21 = x2.fma(b1, c21);
            FloatVector x3 = FloatVector.broadcast(S, a[a3 + kk]);
            c30 = x3.fma(b0, c30);
            c31 = x3.fma(b1, c31);
            FloatVector x4 = FloatVector.broadcast(S, a[a4 + kk]);
            c40 = x4.fma(b0, c40);
            c41 = x4.fma(b1, c41);
            FloatVector x5 = FloatVector.broadcast(S, a[a5 + kk]);
            c50 = x5.fma(b0, c50);
            c51 = x5.fma(b1, c51);
            FloatVector x6 = FloatVector.broadcast(S, a[a6 + kk]);
            c60 = x6.fma(b0, c60);
            c61 = x6.fma(b1, c61);
            FloatVector x7 = FloatVector.broadcast(S, a[a7 + kk]);
            c70 = x7.fma(b0, c70);
            c71 = x7.fma(b1, c71);
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + 1 * ldc);
        c11.intoArray(c, cOff + 1 * ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + L);
    }

    /** One row of A (depth stride ks: 1 in place, MR packed) against a panel. */
    private static void kernel1x32(float[] a, int aOff, int ks, float[] p, int pOff, int kc, float[] c, int cOff, boolean acc) {
        FloatVector c0 = acc ? FloatVector.fromArray(S, c, cOff) : FloatVector.zero(S);
        FloatVector c1 = acc ? FloatVector.fromArray(S, c, cOff + L) : FloatVector.zero(S);
        for (int kk = 0; kk < kc; kk++) {
            FloatVector x = FloatVector.broadcast(S, a[aOff + kk * ks]);
            c0 = x.fma(FloatVector.fromArray(S, p, pOff + kk * NR), c0);
            c1 = x.fma(FloatVector.fromArray(S, p, pOff + kk * NR + L), c1);
        }
        c0.intoArray(c, cOff);
        c1.intoArray(c, cOff + L);
    }
}
