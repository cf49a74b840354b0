package org.resnet4j.kernels;

/**
 * Pooling over NCHW planes (PyTorch's MaxPool2d, AvgPool2d and AdaptiveAvgPool2d semantics).
 * Planes (n*c of them) are independent and split across the pool.
 */
public final class Pool {
    private Pool() {}

    /** Output size of a window op: floor((in + 2*pad - dil*(k-1) - 1)/stride) + 1, or ceil with ceilMode. */
    public static int outSize(int in, int k, int stride, int pad, int dil, boolean ceilMode) {
        int span = in + 2 * pad - dil * (k - 1) - 1;
        int out = (ceilMode ? Math.floorDiv(span + stride - 1, stride) : Math.floorDiv(span, stride)) + 1;
        // PyTorch: with ceil_mode the last window must start inside the input or left padding.
        if (ceilMode && (out - 1) * stride >= in + pad) out--;
        return out;
    }

    /** Max pooling; argmax[i] is the flat index within the input plane of the chosen element. */
    public static void maxForward(int planes, int h, int w, int oh, int ow, int k, int stride, int pad, int dil,
                                  float[] x, float[] y, int[] argmax) {
        Parallel.forRange(planes, 4, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int iy0 = oy * stride - pad, ix0 = ox * stride - pad;
                        if (iy0 >= 0 && ix0 >= 0 && iy0 + (k - 1) * dil < h && ix0 + (k - 1) * dil < w) {
                            // the window lies inside the plane (all but the border outputs): no bounds checks
                            int at = in + iy0 * w + ix0, arg = at;
                            float best = x[at];
                            for (int ki = 0; ki < k; ki++) {
                                for (int kj = 0, row = at + ki * dil * w; kj < k; kj++) {
                                    float v = x[row + kj * dil];
                                    if (v > best || Float.isNaN(v)) { // PyTorch's rule: the last NaN wins
                                        best = v;
                                        arg = row + kj * dil;
                                    }
                                }
                            }
                            y[out + oy * ow + ox] = best;
                            argmax[out + oy * ow + ox] = arg - in;
                            continue;
                        }
                        float best = Float.NEGATIVE_INFINITY;
                        int arg = -1;
                        for (int ki = 0; ki < k; ki++) {
                            int iy = oy * stride - pad + ki * dil;
                            if (iy < 0 || iy >= h) continue;
                            for (int kj = 0; kj < k; kj++) {
                                int ix = ox * stride - pad + kj * dil;
                                if (ix < 0 || ix >= w) continue;
                                float v = x[in + iy * w + ix];
                                // NaN propagates as in PyTorch's kernel: (val > max || isnan(val)), the last NaN wins.
                                if (v > best || Float.isNaN(v) || arg < 0) {
                                    best = v;
                                    arg = iy * w + ix;
                                }
                            }
                        }
                        y[out + oy * ow + ox] = best;
                        argmax[out + oy * ow + ox] = arg;
                    }
            }
        });
    }

    /**
     * Max pooling values only (inference: no argmax for a backward). Branch-free: each output row
     * first takes the elementwise max of its k input rows (a loop C2 vectorizes), then the max of
     * k columns of that. Math.max returns NaN when either side is NaN, so a window holding a NaN
     * gives NaN, the value PyTorch's kernel gives; {@link #maxForward} is its twin in the tests.
     */
    public static void maxForwardValues(int planes, int h, int w, int oh, int ow, int k, int stride, int pad, int dil,
                                        float[] x, float[] y) {
        Parallel.forRange(planes, 4, (p0, p1) -> {
            float[] r = new float[w];
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    java.util.Arrays.fill(r, Float.NEGATIVE_INFINITY);
                    for (int ki = 0; ki < k; ki++) {
                        int iy = oy * stride - pad + ki * dil;
                        if (iy < 0 || iy >= h) continue;
                        int row = in + iy * w;
                        for (int ix = 0; ix < w; ix++) r[ix] = Math.max(r[ix], x[row + ix]);
                    }
                    for (int ox = 0; ox < ow; ox++) {
                        float best = Float.NEGATIVE_INFINITY;
                        for (int kj = 0; kj < k; kj++) {
                            int ix = ox * stride - pad + kj * dil;
                            if (ix >= 0 && ix < w) best = Math.max(best, r[ix]);
                        }
                        y[out + oy * ow + ox] = best;
                    }
                }
            }
        });
    }

    /** dx = scatter of dy to the argmax positions (overwrites dx). */
    public static void maxBackward(int planes, int h, int w, int oh, int ow, float[] dy, int[] argmax, float[] dx) {
        Parallel.forRange(planes, 4, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                java.util.Arrays.fill(dx, in, in + h * w, 0f);
                for (int i = 0; i < oh * ow; i++) {
                    if (argmax[out + i] >= 0) dx[in + argmax[out + i]] += dy[out + i];
                }
            }
        });
    }

    /** Average pooling with count_include_pad=True (PyTorch's default): the divisor is the clipped-to-padding window. */
    public static void avgForward(int planes, int h, int w, int oh, int ow, int k, int stride, int pad,
                                  float[] x, float[] y) {
        Parallel.forRange(planes, 4, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int y0 = oy * stride - pad, x0 = ox * stride - pad;
                        int y1 = Math.min(y0 + k, h + pad), x1 = Math.min(x0 + k, w + pad);
                        int div = (y1 - y0) * (x1 - x0);
                        double s = 0;
                        for (int iy = Math.max(y0, 0); iy < Math.min(y1, h); iy++)
                            for (int ix = Math.max(x0, 0); ix < Math.min(x1, w); ix++) s += x[in + iy * w + ix];
                        y[out + oy * ow + ox] = (float) (s / div);
                    }
            }
        });
    }

    public static void avgBackward(int planes, int h, int w, int oh, int ow, int k, int stride, int pad,
                                   float[] dy, float[] dx) {
        Parallel.forRange(planes, 4, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                java.util.Arrays.fill(dx, in, in + h * w, 0f);
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int y0 = oy * stride - pad, x0 = ox * stride - pad;
                        int y1 = Math.min(y0 + k, h + pad), x1 = Math.min(x0 + k, w + pad);
                        float g = dy[out + oy * ow + ox] / ((y1 - y0) * (x1 - x0));
                        for (int iy = Math.max(y0, 0); iy < Math.min(y1, h); iy++)
                            for (int ix = Math.max(x0, 0); ix < Math.min(x1, w); ix++) dx[in + iy * w + ix] += g;
                    }
            }
        });
    }

    /** PyTorch's adaptive bins: start = floor(i*in/out), end = ceil((i+1)*in/out). */
    static int binStart(int i, int in, int out) {
        return (int) Math.floorDiv((long) i * in, out);
    }

    static int binEnd(int i, int in, int out) {
        return (int) -Math.floorDiv(-(long) (i + 1) * in, out);
    }

    public static void adaptiveAvgForward(int planes, int h, int w, int oh, int ow, float[] x, float[] y) {
        Parallel.forRange(planes, 16, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    int ys = binStart(oy, h, oh), ye = binEnd(oy, h, oh);
                    for (int ox = 0; ox < ow; ox++) {
                        int xs = binStart(ox, w, ow), xe = binEnd(ox, w, ow);
                        double s = 0;
                        for (int iy = ys; iy < ye; iy++)
                            for (int ix = xs; ix < xe; ix++) s += x[in + iy * w + ix];
                        y[out + oy * ow + ox] = (float) (s / ((ye - ys) * (xe - xs)));
                    }
                }
            }
        });
    }

    public static void adaptiveAvgBackward(int planes, int h, int w, int oh, int ow, float[] dy, float[] dx) {
        Parallel.forRange(planes, 16, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int in = p * h * w, out = p * oh * ow;
                java.util.Arrays.fill(dx, in, in + h * w, 0f);
                for (int oy = 0; oy < oh; oy++) {
                    int ys = binStart(oy, h, oh), ye = binEnd(oy, h, oh);
                    for (int ox = 0; ox < ow; ox++) {
                        int xs = binStart(ox, w, ow), xe = binEnd(ox, w, ow);
                        float g = dy[out + oy * ow + ox] / ((ye - ys) * (xe - xs));
                        for (int iy = ys; iy < ye; iy++)
                            for (int ix = xs; ix < xe; ix++) dx[in + iy * w + ix] += g;
                    }
                }
            }
        });
    }
}
