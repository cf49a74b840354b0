package org.resnet4j.train;

/**
 * torch.optim.lr_scheduler.OneCycleLR with anneal_strategy="cos", three_phase=False
 * (https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.OneCycleLR.html; Smith &amp;
 * Topin 2017): from {@code maxLr / divFactor} up to {@code maxLr} over the first
 * {@code pctStart * totalIters - 1} iterations, then down to
 * {@code maxLr / divFactor / finalDivFactor} at iteration {@code totalIters - 1}, each phase a
 * half cosine {@code end + (start - end) / 2 * (1 + cos(pi * pct))}. Phase boundaries are
 * PyTorch's float {@code end_step}s, so the values match its scheduler step for step.
 *
 * <p>Only the lr is scheduled; PyTorch's default cycle_momentum is not reproduced (the optimizer's
 * momentum stays fixed). From {@code totalIters} on the lr stays at the final value, where PyTorch
 * raises.
 */
public record OneCycle(double maxLr, long totalIters, double pctStart, double divFactor, double finalDivFactor)
        implements LrSchedule {
    public static final double DEFAULT_PCT_START = 0.3, DEFAULT_DIV_FACTOR = 25, DEFAULT_FINAL_DIV_FACTOR = 1e4;

    public OneCycle {
        LrChecks.checkLr("max lr", maxLr);
        if (totalIters <= 0) throw new IllegalArgumentException("one-cycle needs a positive number of iterations, got " + totalIters);
        if (!(pctStart >= 0 && pctStart <= 1)) throw new IllegalArgumentException("pct_start must be in [0, 1], got " + pctStart);
        if (!(divFactor > 0) || !(finalDivFactor > 0)) {
            throw new IllegalArgumentException("div factors must be positive, got " + divFactor + " and " + finalDivFactor);
        }
    }

    /** PyTorch's defaults: pct_start 0.3, div_factor 25, final_div_factor 1e4. */
    public OneCycle(double maxLr, long totalIters) {
        this(maxLr, totalIters, DEFAULT_PCT_START, DEFAULT_DIV_FACTOR, DEFAULT_FINAL_DIV_FACTOR);
    }

    public double initialLr() {
        return maxLr / divFactor;
    }

    public double finalLr() {
        return initialLr() / finalDivFactor;
    }

    @Override
    public double lr(long iteration) {
        LrChecks.checkIteration(iteration);
        double t = Math.min(iteration, totalIters - 1);
        double warmEnd = pctStart * totalIters - 1, end = totalIters - 1;
        if (t <= warmEnd) return anneal(initialLr(), maxLr, warmEnd <= 0 ? 1 : t / warmEnd);
        // A degenerate last phase (end == warmEnd: one iteration) sits at its end value.
        return anneal(maxLr, finalLr(), end - warmEnd <= 0 ? 1 : (t - warmEnd) / (end - warmEnd));
    }

    private static double anneal(double start, double end, double pct) {
        return end + (start - end) / 2.0 * (Math.cos(Math.PI * pct) + 1);
    }
}
