package org.resnet4j.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reuses the large float buffers of one training step in the next, so a steady-state step
 * allocates nothing big. The idea is PyTorch's caching allocator
 * (https://pytorch.org/docs/1.13/notes/cuda.html#memory-management): keep freed blocks and hand
 * them out again by size instead of returning them to the system. On the JVM it matters more than
 * in C: every activation allocated afresh is live while the step runs, so each young collection
 * copies hundreds of MiB of saved activations between survivor spaces, and for deep nets (ResNet-56
 * at batch 128) that copying took more than half the wall time.
 *
 * <p>Use: {@code try (var s = pool.open()) { forward; loss; backward; }}. While a scope is open on
 * a thread, {@link Tensor#zeros} on that thread takes zeroed buffers of at least
 * {@link #MIN_ELEMENTS} from the pool. Opening the next scope makes every buffer of the previous
 * step free again; results stay readable until then (read the loss and logits before the next
 * step). Within a step, autograd gives back each intermediate gradient as soon as its node has
 * consumed it ({@link #recycle}), so the pool holds about what the step keeps live at its peak.
 * Gradients adopted by leaves (parameters) are copied out of the pool, so an optimizer, gradient
 * accumulation or clipping never sees a buffer that the next step reuses.
 *
 * <p>Results are bit-identical with and without a pool: buffers are zeroed as {@code new float[]}
 * would be. A pool is for one thread at a time; other threads (data loading, compute workers)
 * allocate as usual.
 */
public final class BufferPool {
    /** Buffers smaller than this (64 KiB) come from the heap: a TLAB allocation is cheaper than a lookup. */
    public static final int MIN_ELEMENTS = 16 * 1024;

    private static final ThreadLocal<BufferPool> CURRENT = new ThreadLocal<>();

    private final boolean releaseActivations;
    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    private final List<float[]> all = new ArrayList<>();
    private final IdentityHashMap<float[], Boolean> owned = new IdentityHashMap<>();
    private long bytes;
    private long reused, allocated;

    /** A pool that keeps every forward value readable until the next {@link #open}. */
    public BufferPool() {
        this(false);
    }

    /**
     * With {@code releaseActivations}, backward also gives back each op's forward output as soon
     * as every op that read it has run its backward (PyTorch frees a saved activation when its
     * last reference goes; here reverse topological order is that moment). Gradients then reuse
     * activations' buffers, and a step's peak is about its activations alone. In exchange, the
     * values of intermediate results (logits included) are unreadable after backward: read what
     * you need before it. Values that share an input's storage (views, in-place results) are
     * given back once, by the op that made the storage.
     */
    public BufferPool(boolean releaseActivations) {
        this.releaseActivations = releaseActivations;
    }

    /** Whether backward in this thread's open pool gives back forward outputs ({@link #BufferPool(boolean)}). */
    public static boolean releasesActivations() {
        BufferPool p = CURRENT.get();
        return p != null && p.releaseActivations;
    }

    /** The open scope: closing it detaches the pool from the thread (its buffers stay valid until the next open). */
    public final class Scope implements AutoCloseable {
        private final BufferPool previous;
        private final Thread thread = Thread.currentThread();

        private Scope(BufferPool previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            if (Thread.currentThread() != thread) throw new IllegalStateException("a buffer pool scope is closed on the thread that opened it");
            if (previous == null) CURRENT.remove();
            else CURRENT.set(previous);
        }
    }

    /**
     * Starts a step: every buffer handed out before becomes free, and this thread's
     * {@link Tensor#zeros} draws from the pool until the scope is closed.
     */
    public Scope open() {
        BufferPool prev = CURRENT.get();
        if (prev == this) throw new IllegalStateException("this buffer pool is already open on this thread");
        free.clear();
        for (float[] a : all) free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
        CURRENT.set(this);
        return new Scope(prev);
    }

    /** A zeroed buffer of {@code n} floats: from the open pool when there is one and n is large, else new. */
    static float[] zeroed(int n) {
        BufferPool p = n >= MIN_ELEMENTS ? CURRENT.get() : null;
        return p == null ? new float[n] : p.take(n);
    }

    /** As {@link #zeroed}, but a reused buffer keeps its old contents (see {@link Tensor#uninitialized}). */
    static float[] unzeroed(int n) {
        BufferPool p = n >= MIN_ELEMENTS ? CURRENT.get() : null;
        return p == null ? new float[n] : p.take(n, false);
    }

    private float[] take(int n) {
        return take(n, true);
    }

    private float[] take(int n, boolean zero) {
        ArrayDeque<float[]> q = free.get(n);
        float[] a = q == null ? null : q.poll();
        if (a != null) {
            if (zero) Arrays.fill(a, 0f);
            reused++;
            return a;
        }
        a = new float[n];
        all.add(a);
        owned.put(a, Boolean.TRUE);
        bytes += 4L * n;
        allocated++;
        return a;
    }

    /**
     * Gives {@code buffer} back to this thread's open pool before the step ends, if the pool owns
     * it; the caller promises that nothing reads it any more. A no-op otherwise, and for a buffer
     * already given back.
     */
    public static void recycle(float[] buffer) {
        BufferPool p = CURRENT.get();
        if (p != null && buffer != null && buffer.length >= MIN_ELEMENTS && p.owned.containsKey(buffer)) {
            ArrayDeque<float[]> q = p.free.computeIfAbsent(buffer.length, k -> new ArrayDeque<>());
            for (float[] f : q) if (f == buffer) return; // already free: queued once, or two tensors would get it
            q.push(buffer);
        }
    }

    /** Whether {@code buffer} belongs to the pool open on this thread (and so is reused by the next step). */
    public static boolean isPooled(float[] buffer) {
        BufferPool p = CURRENT.get();
        return p != null && buffer != null && buffer.length >= MIN_ELEMENTS && p.owned.containsKey(buffer);
    }

    /** Whether {@code buffer} is waiting in this thread's open pool to be handed out again (given back, or not yet taken this step). */
    public static boolean isFree(float[] buffer) {
        BufferPool p = CURRENT.get();
        if (p == null || buffer == null) return false;
        ArrayDeque<float[]> q = p.free.get(buffer.length);
        if (q != null) for (float[] f : q) if (f == buffer) return true;
        return false;
    }

    /** Bytes held by the pool's buffers. */
    public long bytes() {
        return bytes;
    }

    /** Buffers handed out again, and buffers allocated, since the pool was made. */
    public long reusedCount() {
        return reused;
    }

    public long allocatedCount() {
        return allocated;
    }
}
