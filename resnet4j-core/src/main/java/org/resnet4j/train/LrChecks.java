package org.resnet4j.train;

/** The argument checks every {@link LrSchedule} shares, with messages naming the value at fault. */
final class LrChecks {
    private LrChecks() {}

    static void checkLr(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) throw new IllegalArgumentException("invalid " + what + ": " + v);
    }

    static void checkIteration(long iteration) {
        if (iteration < 0) throw new IllegalArgumentException("negative iteration " + iteration);
    }
}
