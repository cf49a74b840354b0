package org.resnet4j.train;

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR
 * (https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.CosineAnnealingLR.html),
 * in the closed form its doc gives:
 * {@code etaMin + (base - etaMin) * (1 + cos(pi * t / totalIters)) / 2}.
 *
 * <p>Beyond {@code totalIters} the lr stays at {@code etaMin}. PyTorch's recursive form instead
 * keeps following the cosine back up (the SGDR curve without restarts), which no recipe wants
 * from a schedule sized to the run.
 */
public record CosineAnnealing(double base, long totalIters, double etaMin) implements LrSchedule {
    public CosineAnnealing {
        LrChecks.checkLr("base lr", base);
        LrChecks.checkLr("eta_min", etaMin);
        if (totalIters <= 0) throw new IllegalArgumentException("cosine annealing needs a positive number of iterations, got " + totalIters);
    }

    @Override
    public double lr(long iteration) {
        LrChecks.checkIteration(iteration);
        if (iteration >= totalIters) return etaMin;
        return etaMin + (base - etaMin) * (1 + Math.cos(Math.PI * iteration / totalIters)) / 2;
    }
}
