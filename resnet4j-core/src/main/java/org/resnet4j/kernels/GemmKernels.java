package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Gemm}'s register-blocked micro-kernels: C[MR x NR] (+)= A[MR x kc] * B panel [kc x NR],
 * NR two vectors wide, one kernel per row count that {@link Hardware#GEMM_ROWS} may choose.
 * Per depth step each does two panel loads, MR broadcasts and 2 MR FMAs into 2 MR accumulators,
 * which must stay in registers (BLIS and MLAS size their kernels per instruction set the same
 * way): 8 rows (16 accumulators + 2 panel vectors + 1 broadcast) for AVX-512's 32 registers, 6
 * rows (12 + 3 = 15) for the 16 of AVX2 and 128-bit SSE, where the 8-row kernel spills.
 *
 * <p>The 8-row kernel comes in two forms that differ only in where the broadcasts read: A packed
 * in MR-row micro-panels (depth stride MR) or read in place (row stride lda); the 6-row one reads
 * rows only (see {@link #MICRO_PANELS}). One kernel with the strides
 * as parameters ran 20-35 % slower than either (C2 keeps the constant-stride address arithmetic
 * out of the loop). C2 keeps the accumulators in registers only while the whole kernel inlines:
 * each Vector API call expands to many IR nodes, and a kernel that also called a store helper
 * with an accumulate branch hit C2's node-count inlining cutoff, boxed its vectors and ran at ~30
 * GFLOPS. The kernels therefore start from C (accumulate) or zero and end in plain stores.
 */
final class GemmKernels {
    private GemmKernels() {}

    private static final VectorSpecies<Float> S = Hardware.FLOATS;
    private static final int L = Hardware.LANES, NR = Hardware.GEMM_COLUMNS;

    /**
     * Whether packed A is laid out as micro-panels (depth stride MR) for the 8-row kernel, or as
     * rows for the in-place one. With 16 registers the 6-row kernel reading micro-panels ran at
     * half the speed of the same kernel reading rows (AMD EPYC Zen 5 with -XX:UseAVX=2, one
     * thread, 256-deep panels: 48-51 against 82-106 GFLOPS of a 108 peak; C2 appears to load all
     * six broadcasts of a step up front from their common base, and spills): there A is packed
     * as rows. With 32 registers micro-panels were faster (8 rows at 512 bits: 197 against 162-167).
     */
    static final boolean MICRO_PANELS = Hardware.GEMM_ROWS == 8;

    /** One MR x NR tile with A packed ({@link #MICRO_PANELS}, or rows of kc). */
    static void packed(float[] ap, int aOff, float[] p, int pOff, int kc, float[] c, int cOff, int ldc, boolean acc) {
        if (MICRO_PANELS) kernel8x2Packed(ap, aOff, p, pOff, kc, c, cOff, ldc, acc);
        else kernel6x2Rows(ap, aOff, kc, p, pOff, kc, c, cOff, ldc, acc);
    }

    /** One MR x NR tile with A's rows read in place (row stride lda). */
    static void inPlace(float[] a, int aOff, int lda, float[] p, int pOff, int kc, float[] c, int cOff, int ldc, boolean acc) {
        if (Hardware.GEMM_ROWS == 8) kernel8x2Rows(a, aOff, lda, p, pOff, kc, c, cOff, ldc, acc);
        else kernel6x2Rows(a, aOff, lda, p, pOff, kc, c, cOff, ldc, acc);
    }

    static void kernel8x2Packed(float[] ap, int aOff, float[] p, int pOff, int kc, float[] c, int cOff, int ldc, boolean acc) {
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
            int pb = pOff + kk * NR, ab = aOff + kk * 8;
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

    static void kernel8x2Rows(float[] a, int aOff, int lda, float[] p, int pOff, int kc, float[] c, int cOff, int ldc, boolean acc) {
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

    static void kernel6x2Rows(float[] a, int aOff, int lda, float[] p, int pOff, int kc, float[] c, int cOff, int ldc, boolean acc) {
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
        int a1 = aOff + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
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
    }
}
