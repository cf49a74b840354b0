package org.resnet4j.data;

import java.util.SplittableRandom;

/** Seed derivation and the few distributions java.util.random does not provide. */
final class Seeds {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Seeds() {}

    /** SplitMix64's output mix (Steele, Lea and Flood 2014), the finaliser inside SplittableRandom. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /**
     * A seed that is a pure function of {@code parts} (order matters). Used so that, for instance,
     * sample i of epoch e gets the same generator whichever thread draws it and whenever.
     */
    static long hash(long... parts) {
        long h = GOLDEN;
        for (long p : parts) h = mix(h + GOLDEN + mix(p));
        return h;
    }

    /**
     * Gamma(shape, 1) by Marsaglia and Tsang (2000), with the U^(1/k) boost for shape below 1.
     * Needed for Beta, which torch.distributions.Beta also draws as a ratio of Gammas
     * (torch._sample_dirichlet).
     */
    static double gamma(SplittableRandom r, double shape) {
        if (shape < 1) {
            double u = 1.0 - r.nextDouble(); // (0, 1]: keeps log/pow finite
            return gamma(r, shape + 1) * Math.pow(u, 1.0 / shape);
        }
        double d = shape - 1.0 / 3.0;
        double c = 1.0 / Math.sqrt(9.0 * d);
        while (true) {
            double x;
            double v;
            do {
                x = r.nextGaussian();
                v = 1.0 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = 1.0 - r.nextDouble();
            if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
            if (Math.log(u) < 0.5 * x * x + d * (1.0 - v + Math.log(v))) return d * v;
        }
    }

    /** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
    static double beta(SplittableRandom r, double a, double b) {
        double x = gamma(r, a);
        double y = gamma(r, b);
        double s = x + y;
        // Both can underflow to 0 for tiny shapes; the limit distribution is then Bernoulli(a / (a + b)).
        if (s == 0) return r.nextDouble() < a / (a + b) ? 1.0 : 0.0;
        return x / s;
    }
}
