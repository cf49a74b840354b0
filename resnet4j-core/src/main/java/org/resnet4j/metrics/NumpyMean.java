package org.resnet4j.metrics;

/**
 * {@code np.mean} of a contiguous float64 array, summed as numpy sums it (pairwise: blocks of up
 * to 128 values in eight interleaved partial sums, larger runs split in halves), so that a mean
 * of many precision values agrees with pycocotools' to the last bit rather than to about 1e-16.
 */
final class NumpyMean {
    private static final int BLOCK = 128; // numpy's PW_BLOCKSIZE

    private NumpyMean() {}

    /** The mean of {@code a[0..n)}; NaN when {@code n == 0}. */
    static double mean(double[] a, int n) {
        return (0.0 + sum(a, 0, n)) / n; // add.reduce starts from the identity 0
    }

    static double sum(double[] a, int from, int n) {
        if (n < 8) {
            double res = 0;
            for (int i = 0; i < n; i++) res += a[from + i];
            return res;
        }
        if (n <= BLOCK) {
            double[] r = new double[8];
            for (int j = 0; j < 8; j++) r[j] = a[from + j];
            int i = 8;
            for (; i < n - n % 8; i += 8) for (int j = 0; j < 8; j++) r[j] += a[from + i + j];
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) res += a[from + i];
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return sum(a, from, n2) + sum(a, from + n2, n - n2);
    }
}
