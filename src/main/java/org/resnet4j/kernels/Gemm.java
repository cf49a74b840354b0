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
 * <p>Structure (after the BLIS/GotoBLAS papers): B is packed into 16-column panels of up to
 * {@link #KC} rows, so the micro-kernel streams one contiguous panel; a 4 x 16 micro-kernel
 * keeps 8 vector accumulators in registers (more spill on C2). The work is split over column
 * panels, or over rows when n is small, across the compute pool. {@link GemmReference} is the
 * scalar twin used by the tests.
 */
public final class Gemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED.length() >= 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = S.length();  // lanes of S
    static final int NR = 2 * L;      // panel width
    static final int MR = 4;          // rows per micro-kernel
    static final int KC = 256;        // depth of one packed panel (128..512 measured within noise)
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[KC * NR]);

    private Gemm() {}

    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        if (transA) {
            // The micro-kernel reads rows of A; transposing once costs m*k, the multiply m*n*k.
            float[] at = new float[m * k];
            for (int kk = 0; kk < k; kk++) {
                int src = aOff + kk * lda;
                for (int i = 0; i < m; i++) at[i * k + kk] = a[src + i];
            }
            a = at;
            aOff = 0;
            lda = k;
        }
        final float[] A = a, B = b, C = c;
        final int aO = aOff, la = lda, bO = bOff, lb = ldb, cO = cOff, lc = ldc;
        int panels = (n + NR - 1) / NR;
        if (panels >= 2 * Parallel.threads() || m < 4 * MR * Parallel.threads()) {
            Parallel.forRange(panels, 1, (p0, p1) ->
                    block(transB, 0, m, p0 * NR, Math.min(n, p1 * NR), k, A, aO, la, B, bO, lb, C, cO, lc, accumulate));
        } else {
            int rowBlocks = (m + MR - 1) / MR;
            Parallel.forRange(rowBlocks, 1, (r0, r1) ->
                    block(transB, r0 * MR, Math.min(m, r1 * MR), 0, n, k, A, aO, la, B, bO, lb, C, cO, lc, accumulate));
        }
    }

    /** C[i0:i1, j0:j1] for one worker. */
    private static void block(boolean transB, int i0, int i1, int j0, int j1, int k,
                              float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                              float[] c, int cOff, int ldc, boolean accumulate) {
        float[] panel = PANEL.get();
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = Math.min(KC, k - k0);
            boolean acc = accumulate || k0 > 0;
            for (int j = j0; j < j1; j += NR) {
                int nr = Math.min(NR, j1 - j);
                packB(transB, b, bOff, ldb, k0, kc, j, nr, panel);
                rows(i0, i1, k0, kc, a, aOff, lda, panel, 0, c, cOff + j, ldc, nr, acc);
            }
        }
    }

    /** Rows [i0, i1) of one column panel against one depth block. */
    private static void rows(int i0, int i1, int k0, int kc, float[] a, int aOff, int lda, float[] panel, int pOff,
                             float[] c, int cOff, int ldc, int nr, boolean acc) {
        if (nr < NR) {
            partialPanel(i0, i1, k0, kc, a, aOff, lda, panel, pOff, c, cOff, ldc, nr, acc);
            return;
        }
        int i = i0;
        for (; i + MR <= i1; i += MR) kernel4x16(a, aOff + i * lda + k0, lda, panel, pOff, kc, c, cOff + i * ldc, ldc, acc);
        for (; i < i1; i++) kernel1x16(a, aOff + i * lda + k0, panel, pOff, kc, c, cOff + i * ldc, acc);
    }

    private static final ThreadLocal<float[]> EDGE = ThreadLocal.withInitial(() -> new float[MR * NR]);

    /**
     * The last panel when n is not a multiple of NR: the kernels write full-width rows into a
     * per-thread MR x NR scratch tile (the panel's padding columns are zero), and only the nr
     * real columns are copied out. Keeps the kernels' stores unmasked; masked vector stores and
     * per-call scratch arrays both measured several times slower.
     */
    private static void partialPanel(int i0, int i1, int k0, int kc, float[] a, int aOff, int lda, float[] panel, int pOff,
                                     float[] c, int cOff, int ldc, int nr, boolean acc) {
        float[] tile = EDGE.get();
        int i = i0;
        for (; i + MR <= i1; i += MR) {
            kernel4x16(a, aOff + i * lda + k0, lda, panel, pOff, kc, tile, 0, NR, false);
            for (int r = 0; r < MR; r++) copyOut(tile, r * NR, c, cOff + (i + r) * ldc, nr, acc);
        }
        for (; i < i1; i++) {
            kernel1x16(a, aOff + i * lda + k0, panel, pOff, kc, tile, 0, false);
            copyOut(tile, 0, c, cOff + i * ldc, nr, acc);
        }
    }

    private static void copyOut(float[] tile, int t, float[] c, int off, int nr, boolean acc) {
        if (acc) {
            for (int jj = 0; jj < nr; jj++) c[off + jj] += tile[t + jj];
        } else {
            System.arraycopy(tile, t, c, off, nr);
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
     * past n zero. Skips the packing pass that dominates when m is small.
     */
    public static void gemmPacked(int m, int n, int k, float[] a, int aOff, int lda, float[] packed, int bOff,
                                  float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || n <= 0 || k <= 0) {
            if (k <= 0 && !accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        int panels = (n + NR - 1) / NR;
        boolean byPanels = panels >= 2 * Parallel.threads() || m < 4 * MR * Parallel.threads();
        int units = byPanels ? panels : (m + MR - 1) / MR;
        Parallel.forRange(units, 1, (u0, u1) -> {
            int i0 = byPanels ? 0 : u0 * MR, i1 = byPanels ? m : Math.min(m, u1 * MR);
            int p0 = byPanels ? u0 : 0, p1 = byPanels ? u1 : panels;
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                boolean acc = accumulate || k0 > 0;
                for (int p = p0; p < p1; p++) {
                    int j = p * NR;
                    rows(i0, i1, k0, kc, a, aOff, lda, packed, bOff + (p * k + k0) * NR, c, cOff + j, ldc, Math.min(NR, n - j), acc);
                }
            }
        });
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

    private static void kernel4x16(float[] a, int aOff, int lda, float[] p, int pOff, int kc,
                                   float[] c, int cOff, int ldc, boolean acc) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        int a0 = aOff, a1 = aOff + lda, a2 = aOff + 2 * lda, a3 = aOff + 3 * lda;
        for (int kk = 0; kk < kc; kk++) {
            FloatVector b0 = FloatVector.fromArray(S, p, pOff + kk * NR);
            FloatVector b1 = FloatVector.fromArray(S, p, pOff + kk * NR + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + kk]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + kk]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + kk]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        store(c00, c01, c, cOff, acc);
        store(c10, c11, c, cOff + ldc, acc);
        store(c20, c21, c, cOff + 2 * ldc, acc);
        store(c30, c31, c, cOff + 3 * ldc, acc);
    }

    private static void kernel1x16(float[] a, int aOff, float[] p, int pOff, int kc, float[] c, int cOff, boolean acc) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
        for (int kk = 0; kk < kc; kk++) {
            FloatVector x = FloatVector.broadcast(S, a[aOff + kk]);
            c0 = x.fma(FloatVector.fromArray(S, p, pOff + kk * NR), c0);
            c1 = x.fma(FloatVector.fromArray(S, p, pOff + kk * NR + L), c1);
        }
        store(c0, c1, c, cOff, acc);
    }

    private static void store(FloatVector v0, FloatVector v1, float[] c, int off, boolean acc) {
        if (acc) {
            v0 = v0.add(FloatVector.fromArray(S, c, off));
            v1 = v1.add(FloatVector.fromArray(S, c, off + L));
        }
        v0.intoArray(c, off);
        v1.intoArray(c, off + L);
    }
}
