package org.resnet4j.autograd;

/**
 * Whether ops record the graph, per thread (PyTorch's torch.no_grad). Use
 * {@code try (var g = GradMode.noGrad()) { ... }} for inference: nothing is saved for backward.
 */
public final class GradMode {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private GradMode() {}

    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** Disables recording until the returned guard is closed; restores the previous mode. */
    public static Guard noGrad() {
        boolean[] flag = ENABLED.get();
        boolean prev = flag[0];
        flag[0] = false;
        return () -> flag[0] = prev;
    }

    public interface Guard extends AutoCloseable {
        @Override
        void close();
    }
}
