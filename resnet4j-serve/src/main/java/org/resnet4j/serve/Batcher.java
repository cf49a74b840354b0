package org.resnet4j.serve;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.tensor.Tensor;

/**
 * Dynamic batching, as TorchServe's and Triton's: requests wait in a bounded queue; one worker
 * takes the oldest, then waits at most {@code maxDelayMillis} for more of the same input shape,
 * up to {@code maxBatch} images, and runs them as one forward pass. It waits only when there is
 * company to wait for: when no more images than the batch already holds have been in the server at
 * once during the last second or two, the batch runs at once, so that a lone client pays no
 * batching delay (Triton's max_queue_delay, by contrast, is paid by every request alone). A model
 * that holds its capacity of images, queued or running, refuses at once ({@link #submit} returns
 * null: the server answers 503) rather than building a backlog; a
 * request whose deadline passed, or whose client went away, is dropped before its batch runs.
 */
final class Batcher implements AutoCloseable {
    /** One request: CHW images of one shape, answered with one row of outputs per image. */
    static final class Job {
        final List<Tensor> images;
        final long deadlineNanos;
        final CompletableFuture<float[][]> result = new CompletableFuture<>();
        /** When it was queued, and when its forward pass began and ended (System.nanoTime; set before result completes). */
        final long queuedNanos = System.nanoTime();
        long startedNanos, finishedNanos;

        Job(List<Tensor> images, long deadlineNanos) {
            this.images = List.copyOf(images);
            this.deadlineNanos = deadlineNanos;
        }

        int[] shape() {
            return images.getFirst().shape();
        }
    }

    private final Function<List<Tensor>, float[][]> forward;
    private final int maxBatch;
    private final long maxDelayNanos;
    private final BlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    /** Most images the model holds at once, queued or running. */
    private final int capacity;
    private final ServeMetrics metrics;
    private final Thread worker;
    private volatile boolean stopping;
    /** A job taken from the queue that did not fit the batch being formed: it leads the next one. */
    private Job carried;
    /** Images submitted and not yet answered. */
    private final AtomicInteger inServer = new AtomicInteger();
    /** The most images in the server at once during the current and the previous window of {@link #WINDOW_NANOS}. */
    private final AtomicInteger peakNow = new AtomicInteger(), peakBefore = new AtomicInteger();
    private volatile long windowStart = System.nanoTime();
    private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** A batcher whose worker runs every batch. */
    Batcher(Function<List<Tensor>, float[][]> forward, int maxBatch, int maxDelayMillis, int queueCapacity, ServeMetrics metrics, String name) {
        this(forward, maxBatch, maxDelayMillis, queueCapacity, metrics, name, false);
    }

    /** @param loneInline run a lone request's forward pass on the thread that submits it (see {@link #submit}) */
    Batcher(Function<List<Tensor>, float[][]> forward, int maxBatch, int maxDelayMillis, int queueCapacity, ServeMetrics metrics, String name,
            boolean loneInline) {
        if (maxBatch < 1 || maxDelayMillis < 0 || queueCapacity < 1) {
            throw new IllegalArgumentException("max batch must be >= 1, max delay >= 0 ms and queue >= 1; got " + maxBatch + ", " + maxDelayMillis + ", " + queueCapacity);
        }
        this.forward = forward;
        this.maxBatch = maxBatch;
        this.maxDelayNanos = TimeUnit.MILLISECONDS.toNanos(maxDelayMillis);
        this.capacity = queueCapacity;
        this.loneInline = loneInline;
        this.metrics = metrics;
        this.worker = Thread.ofPlatform().name("resnet4j-batcher-" + name).daemon().start(this::run);
    }

    /** Why the worker stopped when it should not have, or null while it runs (or stopped on close). */
    private volatile Throwable died;
    /** Orders submit's offer against close's flag, so no request is queued after the worker's last look. */
    private final Object admission = new Object();

    /**
     * Queues a request; null when the model already holds {@code capacity} images (queued or in the
     * running batch), or the batcher is stopping or has died. The bound counts the running batch
     * too, so that what an accepted request waits for is at most {@code capacity} images' work,
     * however hard the server is pushed: under overload the accepted requests wait what a closed
     * loop of {@code capacity} one-image clients waits, not that plus a batch. A request larger
     * than the capacity alone is let in when the model holds nothing, so every valid request can
     * be served.
     */
    Job submit(List<Tensor> images, long deadlineNanos) {
        Job j = new Job(images, deadlineNanos);
        int n = j.images.size();
        boolean alone;
        synchronized (admission) {
            int held = inServer.get();
            if (stopping || died != null || (held > 0 && held + n > capacity)) return null;
            // nothing else in the model (so the worker is idle) and no company lately: the batch
            // the worker would form is this request alone, run at once
            alone = loneInline && held == 0 && recentConcurrency() <= n && !Thread.currentThread().isVirtual();
            peakNow.accumulateAndGet(inServer.addAndGet(n), Math::max);
            j.result.whenComplete((r, e) -> inServer.addAndGet(-n));
            if (!alone) queue.add(j);
        }
        if (alone) {
            // run it on the caller's thread: the hand-off to the worker and back costs two thread
            // wake-ups, each 0.1-0.3 ms on an idle 2-core machine, more than the rest of the path;
            // the worker, should a request arrive meanwhile, waits for this forward to end
            if (forwardLock.tryLock()) {
                try {
                    runBatch(List.of(j));
                } finally {
                    forwardLock.unlock();
                }
                if (queue.isEmpty()) Parallel.rest();
            } else {
                queue.add(j); // the worker took a newer request first: this one waits its turn
            }
        }
        return j;
    }

    /**
     * Whether a lone request's forward pass runs on its own (platform) request thread rather than
     * the worker's. Each thread that ran one keeps the convolution kernels' scratch arrays while
     * it lives (idle request threads end after 30 s).
     */
    private final boolean loneInline;
    /** Held by whichever thread runs a forward pass: the model runs one batch at a time. */
    private final java.util.concurrent.locks.ReentrantLock forwardLock = new java.util.concurrent.locks.ReentrantLock();

    /** Whether the model holds its capacity of images now: one more image would be refused. */
    boolean full() {
        return inServer.get() >= capacity;
    }

    /** How many images have lately been in the server at once: what a batch can hope to gather. */
    int recentConcurrency() {
        long t = System.nanoTime();
        if (t - windowStart > WINDOW_NANOS) {
            windowStart = t;
            peakBefore.set(peakNow.getAndSet(inServer.get()));
        }
        return Math.max(peakNow.get(), peakBefore.get());
    }

    int queued() {
        return queue.size() + (carried != null ? 1 : 0) + (holding != null ? 1 : 0);
    }

    /** The job the worker has taken while it waits for a lone request's forward pass to end. */
    private volatile Job holding;

    /** Whether the worker is running (false after close, or when it died: see {@link #failure}). */
    boolean healthy() {
        return died == null && !stopping;
    }

    /** What stopped the worker, or null. */
    Throwable failure() {
        return died;
    }

    private void run() {
        try {
            loop();
        } catch (Throwable t) {
            // the loop itself failed (not a batch: those are caught in runBatch): refuse from now on
            // and answer everything still waiting, so no request is left behind
            synchronized (admission) {
                died = t;
            }
            if (carried != null) carried.result.completeExceptionally(t);
            if (holding != null) holding.result.completeExceptionally(t);
            for (Job j; (j = queue.poll()) != null; ) j.result.completeExceptionally(t);
        }
    }

    private void loop() {
        while (!stopping || !queue.isEmpty() || carried != null) {
            try {
                Job first = carried != null ? carried : queue.poll(100, TimeUnit.MILLISECONDS);
                carried = null;
                if (first == null) continue;
                // the model may be running a lone request on its own thread: wait for it before
                // forming the batch, so that the batch takes in what queued meanwhile (and count
                // the job in hand as queued until then)
                holding = first;
                forwardLock.lock();
                try {
                    holding = null;
                    List<Job> batch = new ArrayList<>(List.of(first));
                    int images = first.images.size();
                    long until = System.nanoTime() + maxDelayNanos;
                    while (images < maxBatch) {
                        // no company expected: take only what is already queued
                        long left = images >= recentConcurrency() ? 0 : until - System.nanoTime();
                        Job next = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : queue.poll();
                        if (next == null) break;
                        if (!Arrays.equals(next.shape(), first.shape()) || images + next.images.size() > maxBatch) {
                            carried = next;
                            break;
                        }
                        batch.add(next);
                        images += next.images.size();
                    }
                    runBatch(batch);
                } finally {
                    forwardLock.unlock();
                }
                // nothing waits: let the compute workers park rather than spin beside the
                // request threads that read and answer (see Parallel.rest)
                if (carried == null && queue.isEmpty()) Parallel.rest();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void runBatch(List<Job> batch) {
        long now = System.nanoTime();
        List<Job> live = new ArrayList<>();
        for (Job j : batch) {
            if (j.result.isDone()) continue; // cancelled: the client went away
            if (now > j.deadlineNanos) j.result.completeExceptionally(new DeadlineException());
            else live.add(j);
        }
        if (live.isEmpty()) return;
        List<Tensor> inputs = new ArrayList<>();
        for (Job j : live) inputs.addAll(j.images);
        long t0 = System.nanoTime();
        try {
            float[][] out = forward.apply(inputs);
            long t1 = System.nanoTime();
            metrics.batch(inputs.size(), (t1 - t0) / 1e9);
            int k = 0;
            for (Job j : live) {
                j.startedNanos = t0;
                j.finishedNanos = t1; // published to the request thread by complete()
                j.result.complete(Arrays.copyOfRange(out, k, k + j.images.size()));
                k += j.images.size();
            }
        } catch (Throwable e) {
            // any failure, an Error included (an OutOfMemoryError in one large batch, a
            // StackOverflowError in a model), fails this batch's requests (500) and the worker goes on
            metrics.batchFailed(e);
            for (Job j : live) j.result.completeExceptionally(e);
        }
    }

    /** Refuses new requests, answers every queued one, then stops the worker. */
    @Override
    public void close() {
        synchronized (admission) {
            stopping = true;
        }
        try {
            worker.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A request that waited past its deadline. */
    static final class DeadlineException extends RuntimeException {
        DeadlineException() {
            super("the request's deadline passed while it was queued");
        }
    }
}
