package org.resnet4j.train;

import java.util.Arrays;

/**
 * torch.optim.lr_scheduler.MultiStepLR
 * (https://pytorch.org/docs/1.13/generated/torch.optim.lr_scheduler.MultiStepLR.html):
 * {@code base * gamma^(number of milestones <= t)}; a milestone listed twice decays twice, as
 * PyTorch's Counter of milestones does.
 */
public final class MultiStepLR implements LrSchedule {
    private final double base, gamma;
    private final long[] milestones;

    public MultiStepLR(double base, long[] milestones, double gamma) {
        LrChecks.checkLr("base lr", base);
        LrChecks.checkLr("gamma", gamma);
        this.milestones = milestones.clone();
        Arrays.sort(this.milestones);
        this.base = base;
        this.gamma = gamma;
    }

    @Override
    public double lr(long iteration) {
        LrChecks.checkIteration(iteration);
        int passed = 0; // bisect_right: milestones <= iteration
        while (passed < milestones.length && milestones[passed] <= iteration) passed++;
        return base * Math.pow(gamma, passed);
    }

    public double base() {
        return base;
    }

    public double gamma() {
        return gamma;
    }

    public long[] milestones() {
        return milestones.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MultiStepLR m && m.base == base && m.gamma == gamma && Arrays.equals(m.milestones, milestones);
    }

    @Override
    public int hashCode() {
        return Double.hashCode(base) * 31 + Arrays.hashCode(milestones) + Double.hashCode(gamma);
    }

    @Override
    public String toString() {
        return "MultiStepLR[base=" + base + ", milestones=" + Arrays.toString(milestones) + ", gamma=" + gamma + "]";
    }
}
