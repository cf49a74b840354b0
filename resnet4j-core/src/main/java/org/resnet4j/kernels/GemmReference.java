package org.resnet4j.kernels;

/** The scalar twin of {@link Gemm}: the plain triple loop, accumulated in double. Tests only trust this. */
public final class GemmReference {
    private GemmReference() {}

    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = accumulate ? c[cOff + i * ldc + j] : 0.0;
                for (int kk = 0; kk < k; kk++) {
                    float x = transA ? a[aOff + kk * lda + i] : a[aOff + i * lda + kk];
                    float y = transB ? b[bOff + j * ldb + kk] : b[bOff + kk * ldb + j];
                    s += (double) x * y;
                }
                c[cOff + i * ldc + j] = (float) s;
            }
        }
    }
}
