package org.resnet4j.tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A dense float32 tensor: one contiguous row-major {@code float[]} and a shape. Images are
 * NCHW at the API, as in PyTorch.
 *
 * <p>A tensor may be <em>meta</em> (shape only, no storage), like PyTorch's meta device: model
 * summaries and FLOP counts propagate shapes through a network without computing anything.
 *
 * <p>Views are deliberately minimal: {@link #reshape} shares storage; everything else copies.
 */
public final class Tensor {
    private final float[] data;
    private final int[] shape;
    private final int size;

    private Tensor(float[] data, int[] shape, int size) {
        this.data = data;
        this.shape = shape;
        this.size = size;
    }

    /** Wraps {@code data} (not copied) with the given shape. */
    public static Tensor of(float[] data, int... shape) {
        int n = numel(shape);
        if (data.length != n) {
            throw new IllegalArgumentException("data has " + data.length + " elements but shape "
                    + Arrays.toString(shape) + " needs " + n);
        }
        return new Tensor(data, shape.clone(), n);
    }

    /** Zero-filled; inside an open {@link BufferPool} scope large ones reuse the previous step's buffers. */
    public static Tensor zeros(int... shape) {
        int n = numel(shape);
        return new Tensor(BufferPool.zeroed(n), shape.clone(), n);
    }

    /**
     * For an op that writes every element before anything reads one (a convolution's output):
     * inside an open {@link BufferPool} scope a reused buffer comes back as the last step left it,
     * without the zeroing pass; outside one, a new (zeroed) array.
     */
    public static Tensor uninitialized(int... shape) {
        int n = numel(shape);
        return new Tensor(BufferPool.unzeroed(n), shape.clone(), n);
    }

    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        Arrays.fill(t.data, value);
        return t;
    }

    /** A shape-only tensor: {@link #data()} throws. */
    public static Tensor meta(int... shape) {
        return new Tensor(null, shape.clone(), numel(shape));
    }

    public static Tensor scalar(float v) {
        return new Tensor(new float[] {v}, new int[0], 1);
    }

    /** Standard normal entries from a seeded generator. */
    public static Tensor randn(long seed, int... shape) {
        Tensor t = zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < t.size; i++) t.data[i] = (float) gaussian(r);
        return t;
    }

    /** Uniform entries in [lo, hi) from a seeded generator. */
    public static Tensor uniform(long seed, float lo, float hi, int... shape) {
        Tensor t = zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < t.size; i++) t.data[i] = lo + (hi - lo) * (float) r.nextDouble();
        return t;
    }

    /** Box-Muller normal sample. */
    public static double gaussian(SplittableRandom r) {
        double u1 = r.nextDouble();
        double u2 = r.nextDouble();
        return Math.sqrt(-2.0 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Number of elements for a shape, refusing negative dimensions and int overflow. */
    public static int numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
            if (n > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " is too large for one float[]");
            }
        }
        return (int) n;
    }

    public boolean isMeta() {
        return data == null;
    }

    /** The storage itself (not a copy). */
    public float[] data() {
        if (data == null) throw new IllegalStateException("meta tensor " + shapeString() + " has no data");
        return data;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    public int size() {
        return size;
    }

    public boolean sameShape(Tensor o) {
        return Arrays.equals(shape, o.shape);
    }

    public boolean hasShape(int... s) {
        return Arrays.equals(shape, s);
    }

    /** Same storage, new shape with equal element count; one dimension may be -1. */
    public Tensor reshape(int... newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("only one -1 allowed in " + Arrays.toString(newShape));
                infer = i;
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || size % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + shapeString() + " to " + Arrays.toString(newShape));
            }
            s[infer] = (int) (size / known);
        }
        if (numel(s) != size) {
            throw new IllegalArgumentException("cannot reshape " + shapeString() + " to " + Arrays.toString(newShape));
        }
        return new Tensor(data, s, size);
    }

    /** A copy on the heap (never in a {@link BufferPool}). */
    public Tensor copy() {
        return data == null ? meta(shape) : new Tensor(data.clone(), shape.clone(), size);
    }

    /** Copies {@code src}'s values into this tensor; shapes must match. */
    public void copyFrom(Tensor src) {
        if (!sameShape(src)) {
            throw new IllegalArgumentException("shape mismatch: " + shapeString() + " <- " + src.shapeString());
        }
        System.arraycopy(src.data(), 0, data(), 0, size);
    }

    /** Sets every element; a no-op on a meta tensor (as PyTorch's meta ops). */
    public void fill(float v) {
        if (data == null) return;
        Arrays.fill(data, v);
    }

    public float get(int... idx) {
        return data()[offset(idx)];
    }

    public void set(float v, int... idx) {
        data()[offset(idx)] = v;
    }

    private int offset(int[] idx) {
        if (idx.length != shape.length) {
            throw new IllegalArgumentException("index rank " + idx.length + " for shape " + shapeString());
        }
        int off = 0;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(idx) + " out of " + shapeString());
            }
            off = off * shape[i] + idx[i];
        }
        return off;
    }

    /** Largest |a - b| over all elements. */
    public static float maxAbsDiff(Tensor a, Tensor b) {
        if (!a.sameShape(b)) throw new IllegalArgumentException(a.shapeString() + " vs " + b.shapeString());
        float m = 0;
        for (int i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
        return m;
    }

    public float maxAbs() {
        float m = 0;
        for (float v : data()) m = Math.max(m, Math.abs(v));
        return m;
    }

    public double sum() {
        double s = 0;
        for (float v : data()) s += v;
        return s;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(shapeString());
        if (data != null) {
            sb.append(" [");
            int n = Math.min(size, 6);
            for (int i = 0; i < n; i++) sb.append(i > 0 ? ", " : "").append(data[i]);
            if (size > n) sb.append(", ...");
            sb.append(']');
        } else {
            sb.append(" (meta)");
        }
        return sb.toString();
    }
}
