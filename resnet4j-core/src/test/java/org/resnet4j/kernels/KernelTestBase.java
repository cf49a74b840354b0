package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * What the kernel tests share: two workers whatever the machine (so a batch takes the
 * per-image path and a single image the parallel one), random inputs in [-1, 1), and absolute
 * values for the reductions the error bounds are scaled by.
 */
abstract class KernelTestBase {
    private static int originalThreads;

    @BeforeAll
    static void twoThreads() {
        originalThreads = Parallel.threads();
        Parallel.setThreads(2);
    }

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(originalThreads);
    }

    static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (2 * r.nextDouble() - 1);
        return v;
    }

    /**
     * A convolution's reference output and, for its rounding bound, the same convolution of the
     * absolute values (see {@link #assertWithinDotBound}).
     */
    record ReferenceForward(float[] want, float[] absSum) {
        static ReferenceForward of(ConvShape s, float[] x, float[] w) {
            int outputs = s.n() * s.cout() * s.oh() * s.ow();
            ReferenceForward r = new ReferenceForward(new float[outputs], new float[outputs]);
            ConvReference.forward(s, x, w, null, r.want);
            ConvReference.forward(s, abs(x), abs(w), null, r.absSum);
            return r;
        }
    }

    /** |v| elementwise (null stays null). */
    static float[] abs(float[] v) {
        if (v == null) return null;
        float[] a = new float[v.length];
        for (int i = 0; i < v.length; i++) a[i] = Math.abs(v[i]);
        return a;
    }

    /**
     * got vs want elementwise within {@code units} u (sqrt(K) absSum_i + |want_i| + |c0_i|), u = 2^-24:
     * the probabilistic float32 dot-product bound (see GemmTest) over a reduction of length K whose
     * absolute values sum to absSum_i, plus the roundings of the result and of an accumulated c0.
     * Reports the first five elements out of bounds.
     */
    static void assertWithinDotBound(String what, float[] got, float[] want, float[] absSum, int k, float[] c0, double units) {
        if (got.length != want.length) fail(what + ": " + got.length + " elements, expected " + want.length);
        double u = Math.pow(2, -24);
        int bad = 0;
        StringBuilder msg = new StringBuilder();
        for (int i = 0; i < got.length; i++) {
            double tol = units * u * (Math.sqrt(k) * absSum[i] + Math.abs(want[i]) + (c0 == null ? 0 : Math.abs(c0[i])));
            double err = Math.abs((double) got[i] - want[i]);
            if (!(err <= tol) && bad++ < 5) msg.append(String.format("%n  [%d] %s vs reference %s (|err| %.3g > %.3g)", i, got[i], want[i], err, tol));
        }
        if (bad > 0) fail(what + ": " + bad + " of " + got.length + " elements out of tolerance" + msg);
    }
}
