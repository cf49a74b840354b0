package org.resnet4j.train;

/**
 * Linear warm-up, then {@code inner}: PyTorch's
 * {@code SequentialLR([LinearLR(start_factor, end_factor=1, total_iters=warmupIters), inner], milestones=[warmupIters])}
 * (https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.LinearLR.html,
 * https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.SequentialLR.html).
 * For {@code t < warmupIters} the lr is {@code inner.lr(0) * (startFactor + (1 - startFactor) * t / warmupIters)};
 * from then on {@code inner.lr(t - warmupIters)}: as SequentialLR restarts the next scheduler at
 * its milestone, the inner schedule starts after the warm-up (size it to the remaining iterations).
 */
public record Warmup(LrSchedule inner, long warmupIters, double startFactor) implements LrSchedule {
    /** PyTorch LinearLR's default start factor. */
    public static final double DEFAULT_START_FACTOR = 1.0 / 3;

    public Warmup {
        if (inner == null) throw new IllegalArgumentException("warm-up needs an inner schedule");
        if (warmupIters < 0) throw new IllegalArgumentException("warm-up iterations must be >= 0, got " + warmupIters);
        // LinearLR: "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
        if (!(startFactor > 0 && startFactor <= 1)) throw new IllegalArgumentException("warm-up start factor must be in (0, 1], got " + startFactor);
    }

    @Override
    public double lr(long iteration) {
        LrChecks.checkIteration(iteration);
        if (iteration >= warmupIters) return inner.lr(iteration - warmupIters);
        return inner.lr(0) * (startFactor + (1 - startFactor) * iteration / warmupIters);
    }
}
