package org.resnet4j.train;

/**
 * A learning rate as a function of the iteration (0-based count of optimizer steps taken so
 * far). Stateless: resuming a run needs only the iteration, so a checkpoint stores no scheduler
 * state beyond it. Each implementation is the closed form of a torch.optim.lr_scheduler class
 * stepped once per iteration.
 */
@FunctionalInterface
public interface LrSchedule {
    double lr(long iteration);

    /** A fixed lr. */
    record Constant(double value) implements LrSchedule {
        public Constant {
            LrChecks.checkLr("lr", value);
        }

        @Override
        public double lr(long iteration) {
            LrChecks.checkIteration(iteration);
            return value;
        }
    }
}
