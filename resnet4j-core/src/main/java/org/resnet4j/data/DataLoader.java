package org.resnet4j.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.resnet4j.tensor.Tensor;

/**
 * torch.utils.data.DataLoader for a map-style {@link Dataset}: shuffling, per-sample transforms
 * on worker threads, batching ({@link Batch#stack}), an optional {@link BatchTransform}
 * (MixUp/CutMix), and {@code drop_last}.
 *
 * <p><b>Reproducible whatever the threading.</b> The order of an epoch is a pure function of
 * (seed, epoch) (a Fisher-Yates shuffle from a generator seeded by both, or 0..n-1 without
 * shuffling), each sample's transform generator a pure function of (seed, epoch, index) and each
 * batch transform's of (seed, epoch, batch number). Results are consumed in order, so the batches
 * are bit-identical with 0, 1 or 16 workers. (PyTorch seeds each worker instead, so its
 * augmentations change with {@code num_workers}; here they do not.)
 *
 * <p><b>Prefetching.</b> {@code workers} threads of the loader's own pool (not the compute pool
 * of {@link org.resnet4j.kernels.Parallel}, so decoding never competes with kernels for its
 * tasks) decode and transform samples ahead of the consumer: at most
 * {@code (prefetchBatches + 1) * batchSize} samples are in flight or waiting, which bounds memory
 * like PyTorch's {@code prefetch_factor}. With {@code workers == 0} samples are loaded on the
 * calling thread when needed (PyTorch's {@code num_workers=0}).
 *
 * <p><b>Failures.</b> A {@link CorruptImageException} skips the sample: it is counted
 * ({@link #skipped()}), reported once per sample to the {@link #onSkip} listener (default: one line
 * on System.err naming the file), and the batch is filled from the following samples, so batches
 * stay full. Any other exception from the dataset or a transform ends the epoch and is thrown by
 * the iterator on the consumer's thread: unchecked exceptions as they are, an IOException wrapped
 * in UncheckedIOException.
 *
 * <p>One consumer thread per loader; starting a new epoch abandons the previous one. Transforms
 * and the dataset are called from worker threads concurrently and must be thread-safe.
 */
public final class DataLoader implements AutoCloseable {
    private static final AtomicInteger LOADERS = new AtomicInteger();
    private static final long SALT_ORDER = 0x6f72646572L;
    private static final long SALT_SAMPLE = 0x73616d706c65L;
    private static final long SALT_BATCH = 0x6261746368L;

    private final Dataset dataset;
    private final Transform transform;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;
    private final int workers;
    private final int prefetchBatches;
    private final boolean dropLast;
    private final ExecutorService pool;
    /** The pool's threads, joined by close(): the executor reports termination a moment before they exit. */
    private final java.util.Queue<Thread> workerThreads = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private volatile BatchTransform batchTransform;
    private volatile Consumer<? super CorruptImageException> skipListener;
    private final AtomicLong skipped = new AtomicLong();
    private final Set<Integer> skippedIndices = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private Epoch current;

    /**
     * @param transform per-sample transform, or null for none
     * @param workers loader threads; 0 loads on the consumer's thread
     * @param prefetchBatches batches loaded ahead of the one being assembled (>= 0)
     * @param dropLast drop the last batch of an epoch when it is incomplete
     */
    public DataLoader(Dataset dataset, Transform transform, int batchSize, boolean shuffle, long seed, int workers,
            int prefetchBatches, boolean dropLast) {
        this.dataset = Objects.requireNonNull(dataset, "dataset");
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        if (workers < 0) throw new IllegalArgumentException("workers must be >= 0, got " + workers);
        if (prefetchBatches < 0) throw new IllegalArgumentException("prefetchBatches must be >= 0, got " + prefetchBatches);
        this.transform = transform;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.seed = seed;
        this.workers = workers;
        this.prefetchBatches = prefetchBatches;
        this.dropLast = dropLast;
        int id = LOADERS.incrementAndGet();
        // Daemon threads: a loader the program forgot to close must not keep the JVM alive.
        java.util.concurrent.ThreadFactory named = Thread.ofPlatform().daemon().name("resnet4j-data-" + id + "-", 0).factory();
        this.pool = workers == 0 ? null : Executors.newFixedThreadPool(workers, r -> {
            Thread t = named.newThread(r);
            workerThreads.add(t);
            return t;
        });
    }

    /** Applies {@code t} (e.g. {@link MixUp}, {@link CutMix}) to every batch of later epochs; null for none. */
    public DataLoader batchTransform(BatchTransform t) {
        this.batchTransform = t;
        return this;
    }

    /** Receives each skipped sample's exception, once per sample, on the consumer's thread. */
    public DataLoader onSkip(Consumer<? super CorruptImageException> listener) {
        this.skipListener = listener;
        return this;
    }

    /**
     * Starts epoch {@code epoch} (>= 0): workers begin loading at once. The result iterates once
     * ({@code for (Batch b : loader.epoch(e))}); starting another epoch abandons this one.
     */
    public synchronized Epoch epoch(int epoch) {
        if (closed) throw new IllegalStateException("the data loader is closed");
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        if (current != null) current.close();
        current = new Epoch(epoch);
        return current;
    }

    /** The order in which epoch {@code epoch} visits the dataset. */
    public int[] order(int epoch) {
        int n = dataset.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (shuffle) {
            SplittableRandom r = new SplittableRandom(Seeds.hash(seed, SALT_ORDER, epoch));
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** The generator the transform of sample {@code index} gets in epoch {@code epoch}. */
    public SplittableRandom sampleRng(int epoch, int index) {
        return new SplittableRandom(Seeds.hash(seed, SALT_SAMPLE, epoch, index));
    }

    /** Batches per epoch when no sample is skipped ({@code len(loader)}). */
    public int batchesPerEpoch() {
        int n = dataset.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** Samples skipped so far, over all epochs (a sample skipped in two epochs counts twice). */
    public long skipped() {
        return skipped.get();
    }

    /** The distinct dataset indices skipped so far, sorted. */
    public Set<Integer> skippedIndices() {
        return Collections.unmodifiableSet(new TreeSet<>(skippedIndices));
    }

    public Dataset dataset() {
        return dataset;
    }

    public int batchSize() {
        return batchSize;
    }

    public int workers() {
        return workers;
    }

    /** Stops the workers (running tasks are interrupted, queued ones cancelled); idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        if (pool == null) return;
        for (Runnable r : pool.shutdownNow()) {
            // Never-started tasks: cancel them so a consumer blocked on one wakes up.
            if (r instanceof Future<?> f) f.cancel(false);
        }
        try {
            pool.awaitTermination(10, TimeUnit.SECONDS);
            for (Thread t : workerThreads) t.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Example load(int epoch, int index) throws IOException {
        Example ex = dataset.get(index);
        if (transform == null) return ex;
        Tensor image = transform.apply(ex.image(), sampleRng(epoch, index));
        return new Example(image, ex.label());
    }

    private void skip(int index, CorruptImageException e) {
        skipped.incrementAndGet();
        if (skippedIndices.add(index)) {
            Consumer<? super CorruptImageException> l = skipListener;
            if (l != null) {
                l.accept(e);
            } else {
                System.err.println("resnet4j: skipping unreadable sample " + index + ": " + e.getMessage());
            }
        }
    }

    /** One pass over the dataset; an {@link Iterator} that is also usable once in a for-each loop. */
    public final class Epoch implements Iterator<Batch>, Iterable<Batch>, AutoCloseable {
        private record Pending(int index, Future<Example> future) {}

        private final int number;
        private final int[] order;
        private final int window;
        private final BatchTransform batchTransform;
        private final ArrayDeque<Pending> pending = new ArrayDeque<>();
        private int submitted;
        private int batches;
        private Batch next;
        private boolean done;
        private boolean iterated;

        private Epoch(int number) {
            this.number = number;
            this.order = order(number);
            this.batchTransform = DataLoader.this.batchTransform;
            this.window = (int) Math.min(Integer.MAX_VALUE, (long) (prefetchBatches + 1) * batchSize);
            fill();
        }

        public int number() {
            return number;
        }

        /** Keeps up to {@code window} samples submitted ahead of the consumer. */
        private void fill() {
            while (pending.size() < window && submitted < order.length) {
                int index = order[submitted++];
                Callable<Example> task = () -> load(number, index);
                Future<Example> f;
                if (pool == null) {
                    f = new FutureTask<>(task); // run on the consumer's thread when taken
                } else {
                    try {
                        f = pool.submit(task);
                    } catch (RejectedExecutionException e) {
                        close();
                        throw new IllegalStateException("the data loader is closed", e);
                    }
                }
                pending.add(new Pending(index, f));
            }
        }

        @Override
        public boolean hasNext() {
            if (next != null) return true;
            if (done) return false;
            if (closed) {
                close();
                throw new IllegalStateException("the data loader is closed");
            }
            try {
                next = assemble();
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
            if (next == null) close();
            return next != null;
        }

        @Override
        public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("epoch " + number + " has no more batches");
            Batch b = next;
            next = null;
            return b;
        }

        /** The next batch, or null at the end of the epoch. */
        private Batch assemble() {
            List<Example> examples = new ArrayList<>(batchSize);
            while (examples.size() < batchSize && !pending.isEmpty()) {
                Pending p = pending.poll();
                fill();
                Example ex = await(p);
                if (ex != null) examples.add(ex);
            }
            if (examples.isEmpty() || (dropLast && examples.size() < batchSize)) return null;
            Batch b = Batch.stack(examples);
            if (batchTransform != null) {
                b = batchTransform.apply(b, new SplittableRandom(Seeds.hash(seed, SALT_BATCH, number, batches)));
            }
            batches++;
            return b;
        }

        /** The loaded example, or null when it was skipped. */
        private Example await(Pending p) {
            if (p.future instanceof FutureTask<Example> task && pool == null) task.run();
            try {
                return p.future.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for sample " + p.index, e);
            } catch (CancellationException e) {
                throw new IllegalStateException("the data loader is closed", e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof CorruptImageException corrupt) {
                    skip(p.index, corrupt);
                    return null;
                }
                if (cause instanceof RuntimeException re) throw re;
                if (cause instanceof Error err) throw err;
                if (cause instanceof IOException io) {
                    throw new UncheckedIOException("loading sample " + p.index + " failed: " + io.getMessage(), io);
                }
                throw new IllegalStateException("loading sample " + p.index + " failed: " + cause, cause);
            }
        }

        /** Abandons the rest of the epoch: queued samples are cancelled, running ones interrupted. */
        @Override
        public void close() {
            done = true;
            next = null;
            for (Pending p : pending) p.future.cancel(true);
            pending.clear();
        }

        /** This epoch itself; it can be iterated only once, as a {@link java.nio.file.DirectoryStream}. */
        @Override
        public Iterator<Batch> iterator() {
            if (iterated) throw new IllegalStateException("an epoch can be iterated only once; call epoch(n) again");
            iterated = true;
            return this;
        }
    }
}
