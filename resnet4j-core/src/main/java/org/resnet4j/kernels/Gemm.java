package org.resnet4j.kernels;

import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply, row-major: C[m x n] (+)= op(A)[m x k] * op(B)[k x n].
 *
 * <p>op(A) is A (stored m x k, leading dimension lda) or, with transA, A stored k x m.
 * op(B) is B (stored k x n) or, with transB, B stored n x k. {@code accumulate} adds to C
 * instead of overwriting it (the beta = 1 of BLAS).
 *
 * <p>Structure (after the BLIS/GotoBLAS papers): per depth block of {@link #KC}, a worker packs
 * B into panels two vectors wide ({@link #NR}: 32 columns with AVX-512, 16 with AVX2) and, when
 * it runs enough columns to earn it back (see {@link #PACK_A_MIN_COLUMNS}), its rows of A into
 * MR-row micro-panels (one contiguous stream for the micro-kernel, transA absorbed by the
 * packing); a {@link GemmKernels} micro-kernel sized to the register file (8 rows with 32 vector
 * registers, 6 with 16: {@link Hardware#GEMM_ROWS}) keeps its accumulators in registers. The
 * work is split over column panels, or over rows when n is small, across the compute pool.
 * {@link GemmReference} is the scalar twin used by the tests.
 */
public final class Gemm {
    static final VectorSpecies<Float> S = Hardware.FLOATS;
    static final int L = Hardware.LANES;  // lanes of S
    static final int NR = Hardware.GEMM_COLUMNS;  // panel width
    static final int MR = Hardware.GEMM_ROWS;     // rows per micro-kernel (and per packed A micro-panel)
    static final int KC = 256;        // depth of one packed panel (128..512 measured within noise)
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[KC * NR]);
    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[MR * NR]);
    /** Leftover rows of an in-place A, zero-padded to one MR-row micro-panel of depth up to KC. */
    private static final ThreadLocal<float[]> EDGE_A = ThreadLocal.withInitial(() -> new float[MR * KC]);

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
     * Rows of A packed per block (a multiple of 6 and of 8): 120 x {@link #KC} floats, 120 KB,
     * stay in L2 while every panel of the column block runs against them.
     */
    static final int MC = 120;
    /** Columns of B packed per block: NC x {@link #KC} floats, 2 MB, read from L2/L3 once per row block. */
    static final int NC = 2048;

    /**
     * C[i0:i1, j0:j1] (+)= op(A)[i0:i1, :] * op(B)[:, j0:j1], one depth block at a time. B is
     * packed here, or {@code prePacked} (see {@link #gemmPacked}).
     *
     * <p>A long GEMM (A packed) runs BLIS's loop nest: per block of NC columns and depth block,
     * B's panels are packed once, then A in blocks of MC rows, each held in L2 while all the
     * panels run against it. Running all of A's rows against one panel at a time streamed the
     * whole packed A (m x KC, 1 MB at m = 1024) from L3 per panel: at 256 bits, with panels half
     * as wide as AVX-512's, that halved sgemm n=1024 (see docs/PERFORMANCE.md). A short GEMM
     * reads A in place and packs B one panel at a time.
     */
    private static void worker(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k,
                               float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean prePacked,
                               float[] c, int cOff, int ldc, boolean accumulate, Epilogue epilogue, int epilogueRow) {
        if (transA || j1 - j0 >= PACK_A_MIN_COLUMNS) {
            blocked(transA, transB, i0, i1, j0, j1, k, a, aOff, lda, b, bOff, ldb, prePacked, c, cOff, ldc, accumulate, epilogue, epilogueRow);
            return;
        }
        float[] panel = prePacked ? b : PANEL.get();
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = Math.min(KC, k - k0);
            boolean acc = accumulate || k0 > 0;
            for (int j = j0; j < j1; j += NR) {
                int nr = Math.min(NR, j1 - j), pOff = 0, out = cOff + i0 * ldc + j;
                if (prePacked) pOff = bOff + (j / NR * k + k0) * NR;
                else packB(transB, b, bOff, ldb, k0, kc, j, nr, panel, 0);
                rows(false, i1 - i0, kc, a, aOff + i0 * lda + k0, lda, panel, pOff, c, out, ldc, nr, acc);
                if (epilogue != null && k0 + kc == k) epilogue.apply(epilogueRow + i0, c, out, ldc, i1 - i0, nr);
            }
        }
    }

    /** The worker's loop nest with A packed: column blocks, depth blocks, row blocks, panels. */
    private static void blocked(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k,
                                float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean prePacked,
                                float[] c, int cOff, int ldc, boolean accumulate, Epilogue epilogue, int epilogueRow) {
        float[] ap = packedA(Math.min(MC, i1 - i0), k);
        for (int jc = j0; jc < j1; jc += NC) {
            int jEnd = Math.min(j1, jc + NC);
            float[] bp = prePacked ? b : Workspace.get(Workspace.Slot.GEMM_B, (jEnd - jc + NR - 1) / NR * NR * Math.min(k, KC));
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                boolean acc = accumulate || k0 > 0;
                if (!prePacked) {
                    for (int j = jc; j < jEnd; j += NR) packB(transB, b, bOff, ldb, k0, kc, j, Math.min(NR, jEnd - j), bp, (j - jc) / NR * kc * NR);
                }
                for (int ib = i0; ib < i1; ib += MC) {
                    int ie = Math.min(i1, ib + MC);
                    packA(transA, a, aOff, lda, ib, ie, k0, kc, ap);
                    for (int j = jc; j < jEnd; j += NR) {
                        int nr = Math.min(NR, jEnd - j), out = cOff + ib * ldc + j;
                        int pOff = prePacked ? bOff + (j / NR * k + k0) * NR : (j - jc) / NR * kc * NR;
                        rows(true, ie - ib, kc, ap, 0, 0, bp, pOff, c, out, ldc, nr, acc);
                        if (epilogue != null && k0 + kc == k) epilogue.apply(epilogueRow + ib, c, out, ldc, ie - ib, nr);
                    }
                }
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
     * Packs op(A)[i0:i1, k0:k0+kc] in blocks of MR rows, block g at {@code ap[g*MR*kc]}, in the
     * layout this machine's kernel reads fastest ({@link GemmKernels#MICRO_PANELS}): as
     * micro-panels (row g*MR + r, depth kk at {@code g*MR*kc + kk*MR + r}), or as rows of kc
     * (depth kk at {@code (g*MR + r)*kc + kk}), which the in-place kernel reads with lda = kc.
     * The rows that pad the last block are zero.
     */
    private static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int i1, int k0, int kc, float[] ap) {
        int padded = (i1 - i0 + MR - 1) / MR * MR;
        if (!GemmKernels.MICRO_PANELS) {
            for (int i = i0; i < i1; i++) {
                int dst = (i - i0) * kc;
                if (!transA) System.arraycopy(a, aOff + i * lda + k0, ap, dst, kc);
                else for (int kk = 0; kk < kc; kk++) ap[dst + kk] = a[aOff + (k0 + kk) * lda + i];
            }
            java.util.Arrays.fill(ap, (i1 - i0) * kc, padded * kc, 0f);
            return;
        }
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
     * m rows of A against one column panel of depth kc, into C at cOff. A is {@code packed} (blocks
     * of MR rows from aOff, see {@link #packA}) or read in place (row r at aOff + r * lda). Full
     * MR x NR tiles go straight to C. Every edge goes through the same kernel, on padded operands:
     * a panel cut short by n has zero padding columns, leftover rows (fewer than MR) are taken
     * from a zero-padded block (the packed one already is; in-place rows are copied into one),
     * and the whole tile is computed into a per-thread scratch tile whose real rows and columns
     * are then copied out. This keeps the kernels' stores unmasked (masked stores and per-call
     * scratch arrays both measured several times slower) and the leftover rows at the kernel's
     * speed, where a one-row kernel of two accumulators waits on the FMA latency.
     */
    private static void rows(boolean packed, int m, int kc, float[] a, int aOff, int lda, float[] panel, int pOff,
                             float[] c, int cOff, int ldc, int nr, boolean acc) {
        if (packed) lda = kc;  // a block of rows starts at r0 * kc in either packed layout
        for (int r0 = 0; r0 < m; r0 += MR) {
            int rows = Math.min(MR, m - r0), g = aOff + r0 * lda, out = cOff + r0 * ldc;
            float[] tile = rows == MR && nr == NR ? c : EDGE.get();
            int tOff = tile == c ? out : 0, ldt = tile == c ? ldc : NR;
            boolean tAcc = tile == c && acc;
            if (rows == MR || packed) {
                if (packed) GemmKernels.packed(a, g, panel, pOff, kc, tile, tOff, ldt, tAcc);
                else GemmKernels.inPlace(a, g, lda, panel, pOff, kc, tile, tOff, ldt, tAcc);
            } else {
                float[] pad = EDGE_A.get();  // the leftover rows as a zero-padded block of rows (lda = kc)
                for (int r = 0; r < MR; r++) {
                    if (r < rows) System.arraycopy(a, g + r * lda, pad, r * kc, kc);
                    else java.util.Arrays.fill(pad, r * kc, (r + 1) * kc, 0f);
                }
                GemmKernels.inPlace(pad, 0, kc, panel, pOff, kc, tile, 0, NR, false);
            }
            if (tile != c) copyTile(tile, rows, c, out, ldc, nr, acc);
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

    /** Packs op(B)[k0:k0+kc, j:j+nr] into panel[pOff + kk*NR + jj], zero-filling columns past nr. */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int k0, int kc, int j, int nr, float[] panel, int pOff) {
        if (!transB) {
            for (int kk = 0; kk < kc; kk++) {
                int src = bOff + (k0 + kk) * ldb + j;
                int dst = pOff + kk * NR;
                System.arraycopy(b, src, panel, dst, nr);
                for (int jj = nr; jj < NR; jj++) panel[dst + jj] = 0f;
            }
        } else {
            for (int jj = 0; jj < NR; jj++) {
                if (jj < nr) {
                    int src = bOff + (j + jj) * ldb + k0;
                    for (int kk = 0; kk < kc; kk++) panel[pOff + kk * NR + jj] = b[src + kk];
                } else {
                    for (int kk = 0; kk < kc; kk++) panel[pOff + kk * NR + jj] = 0f;
                }
            }
        }
    }
}
