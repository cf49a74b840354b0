package org.resnet4j.kernels;

import jdk.incubator.vector.FloatVector;

/**
 * What inference applies to a convolution's output while it is still in cache: a per-channel
 * affine map (a folded batch norm: scale = gamma / sqrt(var + eps), shift = beta - mean * scale,
 * or a bias with scale null), then the residual (same shape as y) and ReLU.
 */
public record Epilogue(float[] scale, float[] shift, float[] residual, boolean relu) {
    public static Epilogue bias(float[] b) {
        return new Epilogue(null, b, null, false);
    }

    /**
     * Rows [0, rows) x columns [0, cols) of y at off (row stride ld) are channels ch0.. of the
     * output: each element becomes y * scale + shift (+ the residual at the same index), then
     * max(0, .) with relu. Vectorized; a multiply then an add (not an FMA), the same roundings
     * as the scalar form, so every convolution path gives the same epilogue bits.
     */
    void apply(int ch0, float[] y, int off, int ld, int rows, int cols) {
        FloatVector zero = FloatVector.zero(Hardware.FLOATS);
        int lanes = Hardware.LANES;
        for (int r = 0; r < rows; r++) {
            float a = scale == null ? 1f : scale[ch0 + r], b = shift == null ? 0f : shift[ch0 + r];
            FloatVector va = FloatVector.broadcast(Hardware.FLOATS, a), vb = FloatVector.broadcast(Hardware.FLOATS, b);
            int o = off + r * ld, i = 0;
            for (; i <= cols - lanes; i += lanes) {
                FloatVector v = FloatVector.fromArray(Hardware.FLOATS, y, o + i).mul(va).add(vb);
                if (residual != null) v = v.add(FloatVector.fromArray(Hardware.FLOATS, residual, o + i));
                if (relu) v = v.max(zero);
                v.intoArray(y, o + i);
            }
            for (; i < cols; i++) {
                float v = y[o + i] * a + b;
                if (residual != null) v += residual[o + i];
                y[o + i] = relu ? Math.max(v, 0f) : v;
            }
        }
    }

    /** {@link #apply} over channels split across the pool (inline on a pool worker, i.e. when images run in parallel). */
    void overChannels(float[] y, int base, int channels, int p) {
        Parallel.forRange(channels, Math.max(1, (1 << 14) / p), (c0, c1) -> apply(c0, y, base + c0 * p, p, c1 - c0, p));
    }
}
