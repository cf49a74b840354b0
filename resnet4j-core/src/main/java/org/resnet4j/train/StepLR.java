package org.resnet4j.train;

/**
 * torch.optim.lr_scheduler.StepLR (https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.StepLR.html):
 * {@code base * gamma^floor(t / stepSize)}.
 */
public record StepLR(double base, long stepSize, double gamma) implements LrSchedule {
    public StepLR {
        LrChecks.checkLr("base lr", base);
        if (stepSize <= 0) throw new IllegalArgumentException("StepLR step size must be positive, got " + stepSize);
        LrChecks.checkLr("gamma", gamma);
    }

    @Override
    public double lr(long iteration) {
        LrChecks.checkIteration(iteration);
        return base * Math.pow(gamma, iteration / stepSize);
    }
}
