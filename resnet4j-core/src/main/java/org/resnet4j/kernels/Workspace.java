package org.resnet4j.kernels;

/**
 * Per-thread scratch arrays that grow to the largest request and are kept, so the convolution
 * kernels allocate nothing per call (oneDNN's scratchpad plays this part in PyTorch). Fresh
 * im2col and partial-sum arrays were tens of MiB of garbage per call: in a resnet50 training
 * step at batch 16 they drove G1 to commit about twice the live heap. An array may be longer
 * than asked and holds whatever its last user left: callers pass sizes explicitly and clear
 * what they accumulate into.
 *
 * <p>One array per slot and thread: a kernel takes each slot at most once at a time on a
 * thread, which the slots below are laid out to guarantee (a backward-data that runs the
 * forward kernel holds WEIGHTS while the forward takes COL).
 */
final class Workspace {
    enum Slot {
        /** An image's im2col matrix (or its packed panels). */
        COL,
        /** Several images' im2col matrices side by side (backward-weight of small images). */
        COL_BATCH,
        /** Several images' output gradients side by side (same). */
        DY_BATCH,
        /** A worker's partial weight gradient. */
        ACC,
        /** Weights rearranged for backward-data (flipped or transposed). */
        WEIGHTS,
        /** Winograd-transformed weights, 16 x cout x cin (the calling thread's). */
        WINOGRAD_WEIGHTS,
        /** Winograd products before the output transform, 16 x cout x tiles. */
        WINOGRAD_PRODUCTS,
        /** The zero-padded batch of a direct convolution (the calling thread's). */
        DIRECT_INPUT,
        /** A direct convolution's repacked weights (the calling thread's). */
        DIRECT_WEIGHTS,
        /** A direct convolution's output block before its padding columns are dropped. */
        DIRECT_OUTPUT,
        /** The output gradient in a direct convolution's flat rows (the calling thread's). */
        DIRECT_GRAD,
        /** A GEMM worker's rows of A packed into micro-panels for one depth block. */
        GEMM_A,
        /** A GEMM worker's block of B packed into panels for one depth block (when A is packed too). */
        GEMM_B
    }

    private static final int SLOTS = Slot.values().length;
    private static final ThreadLocal<float[][]> ARRAYS = ThreadLocal.withInitial(() -> new float[SLOTS][0]);

    private Workspace() {}

    /** This thread's array for {@code slot}, at least {@code n} long, contents undefined. */
    static float[] get(Slot slot, int n) {
        float[][] a = ARRAYS.get();
        int i = slot.ordinal();
        if (a[i].length < n) a[i] = new float[n];
        return a[i];
    }
}
