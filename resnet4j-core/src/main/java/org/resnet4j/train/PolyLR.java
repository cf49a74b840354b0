package org.resnet4j.train;

/**
 * The "poly" learning-rate policy of DeepLab (Chen et al. 2017, section 4.1, after ParseNet) and
 * of torchvision's references/segmentation/train.py, which builds it as
 * {@code LambdaLR(lambda x: (1 - x / iters) ** 0.9)} stepped every iteration:
 * {@code base * (1 - t / totalIters)^power}, 0 from {@code totalIters} on.
 */
public record PolyLR(double base, long totalIters, double power) implements LrSchedule {
    /** torchvision's and DeepLab's power. */
    public static final double DEFAULT_POWER = 0.9;

    public PolyLR {
        LrChecks.checkLr("base lr", base);
        if (totalIters <= 0) throw new IllegalArgumentException("poly needs a positive number of iterations, got " + totalIters);
        if (!(power > 0) || !Double.isFinite(power)) throw new IllegalArgumentException("poly power must be positive and finite, got " + power);
    }

    public PolyLR(double base, long totalIters) {
        this(base, totalIters, DEFAULT_POWER);
    }

    @Override
    public double lr(long iteration) {
        LrChecks.checkIteration(iteration);
        if (iteration >= totalIters) return 0;
        return base * Math.pow(1 - (double) iteration / totalIters, power);
    }
}
