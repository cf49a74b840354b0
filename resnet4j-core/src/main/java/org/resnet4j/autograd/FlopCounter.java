package org.resnet4j.autograd;

/**
 * Counts multiply-accumulates of convolutions and linear layers on this thread while active.
 * GFLOPs in model listings are 2 x MACs / 1e9 (torchvision quotes MACs as "GFLOPS"; we print both).
 */
public final class FlopCounter {
    private static final ThreadLocal<long[]> MACS = new ThreadLocal<>();

    private FlopCounter() {}

    /** Starts counting from zero on this thread. */
    public static void start() {
        MACS.set(new long[1]);
    }

    /** Stops counting and returns the MACs seen since start(). */
    public static long stop() {
        long[] m = MACS.get();
        MACS.remove();
        return m == null ? 0 : m[0];
    }

    public static void add(long macs) {
        long[] m = MACS.get();
        if (m != null) m[0] += macs;
    }
}
