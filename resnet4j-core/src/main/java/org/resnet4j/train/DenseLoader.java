package org.resnet4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.resnet4j.data.CorruptImageException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import org.resnet4j.data.dense.DenseDataset;
import org.resnet4j.data.dense.DenseExample;
import org.resnet4j.data.dense.DenseTarget;
import org.resnet4j.data.dense.DenseTransform;
import org.resnet4j.tensor.Tensor;

/**
 * Batches of a {@link DenseDataset}: for segmentation, images [N, C, H, W] and their masks
 * [N, H, W] (class indices as floats, {@link DenseTarget#IGNORE} unscored), as the segmentation
 * reference's collate stacks equal-size crops; for detection, the examples as they are (images of
 * different sizes, as the detection reference's collate_fn keeps them in a list, the model's
 * transform batching them). An image that cannot be decoded is skipped, reported once to
 * {@link #onSkip} and counted, as {@link org.resnet4j.data.DataLoader} skips; the batch comes out
 * smaller (a batch left empty is passed over). As {@link org.resnet4j.data.DataLoader}, the order
 * of an epoch is a function of (seed, epoch) and each sample's transform generator of (seed,
 * epoch, index), so batches are the same with any number of workers and a resumed run sees the
 * batches an uninterrupted one would.
 */
final class DenseLoader implements AutoCloseable {
    /**
     * One batch: the stacked images and masks (segmentation; null for detection), the examples,
     * and their indices in the data set.
     */
    record DenseBatch(Tensor images, Tensor masks, List<DenseExample> examples, List<Integer> indices) {
        int size() {
            return examples.size();
        }
    }

    private final DenseDataset data;
    private final int[] indices;
    private final DenseTransform transform;
    private final int batchSize;
    private final boolean shuffle, dropLast;
    private boolean stack = true;
    private Consumer<? super CorruptImageException> onSkip = e -> {};
    private final Set<Integer> skipped = ConcurrentHashMap.newKeySet();
    private final long seed;
    private final ExecutorService pool;

    /** {@code indices}: the examples of {@code data} to use (a subset), in their base order. */
    DenseLoader(DenseDataset data, int[] indices, DenseTransform transform, int batchSize, boolean shuffle, boolean dropLast,
                long seed, int workers) {
        this.data = data;
        this.indices = indices;
        this.transform = transform;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.dropLast = dropLast;
        this.seed = seed;
        this.pool = workers == 0 ? null : Executors.newFixedThreadPool(workers, Thread.ofPlatform().daemon().name("resnet4j-dense-", 0).factory());
    }

    int size() {
        return indices.length;
    }

    /** Batches keep their examples as a list instead of stacking them (detection). */
    DenseLoader unstacked() {
        this.stack = false;
        return this;
    }

    /** Receives each unreadable image's exception the first time it is met, on the consumer's thread. */
    DenseLoader onSkip(Consumer<? super CorruptImageException> listener) {
        this.onSkip = listener;
        return this;
    }

    /** Distinct examples skipped so far as unreadable. */
    int skipped() {
        return skipped.size();
    }

    long batchesPerEpoch() {
        return dropLast ? indices.length / batchSize : (indices.length + batchSize - 1) / batchSize;
    }

    private static long mix(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long p : parts) h = new SplittableRandom(h ^ p).nextLong();
        return h;
    }

    /** Null when the image cannot be decoded. */
    private Loaded load(int epoch, int index) throws IOException {
        try {
            return new Loaded(index, transform.apply(data.get(index), new SplittableRandom(mix(seed, 0x73616d706c65L, epoch, index))), null);
        } catch (CorruptImageException e) {
            return new Loaded(index, null, e);
        }
    }

    private record Loaded(int index, DenseExample example, CorruptImageException error) {}

    /** The batches of one epoch; loading runs one batch ahead of the consumer on the workers. */
    Iterable<DenseBatch> epoch(int epoch) {
        int[] order = indices.clone();
        if (shuffle) {
            SplittableRandom r = new SplittableRandom(mix(seed, 0x6f72646572L, epoch));
            for (int i = order.length - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        int batches = (int) batchesPerEpoch();
        return () -> new Iterator<>() {
            private final ArrayDeque<Future<Loaded>> pending = new ArrayDeque<>();
            private int submitted, taken;
            private DenseBatch ready;

            private void fill() {
                int end = Math.min(order.length, (taken + 2) * batchSize); // this batch and the next
                while (submitted < end) {
                    int index = order[submitted++];
                    FutureTask<Loaded> f = new FutureTask<>(() -> load(epoch, index));
                    if (pool != null) pool.execute(f);
                    pending.add(f);
                }
            }

            @Override
            public boolean hasNext() {
                while (ready == null && taken < batches) {
                    fill();
                    int n = Math.min(batchSize, order.length - taken * batchSize);
                    List<DenseExample> ex = new ArrayList<>(n);
                    List<Integer> at = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        Loaded l = await(pending.poll());
                        if (l.example() != null) {
                            ex.add(l.example());
                            at.add(l.index());
                        } else if (skipped.add(l.index())) {
                            onSkip.accept(l.error());
                        }
                    }
                    taken++;
                    if (!ex.isEmpty()) ready = stack ? stack(ex, at) : new DenseBatch(null, null, List.copyOf(ex), List.copyOf(at));
                }
                return ready != null;
            }

            @Override
            public DenseBatch next() {
                if (!hasNext()) throw new NoSuchElementException();
                DenseBatch b = ready;
                ready = null;
                return b;
            }
        };
    }

    private static Loaded await(Future<Loaded> f) {
        try {
            if (f instanceof FutureTask<Loaded> t) t.run(); // no-op when a worker ran it
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while loading", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof IOException io) throw new UncheckedIOException(io.getMessage(), io); // the message names the file; keep it bare
            throw new IllegalStateException(c);
        }
    }

    /** Stacks equal-size examples; masks must exist. */
    static DenseBatch stack(List<DenseExample> ex, List<Integer> indices) {
        Tensor first = ex.get(0).image();
        int c = first.dim(0), h = first.dim(1), w = first.dim(2), per = c * h * w, n = ex.size();
        float[] img = new float[n * per], mask = new float[n * h * w];
        for (int i = 0; i < n; i++) {
            Tensor t = ex.get(i).image();
            if (!t.hasShape(c, h, w)) {
                throw new IllegalArgumentException("cannot batch a " + t.shapeString() + " image with a " + first.shapeString() + " one");
            }
            int[] m = ex.get(i).target().semantic();
            if (m == null) throw new IllegalArgumentException("example without a segmentation mask");
            System.arraycopy(t.data(), 0, img, i * per, per);
            for (int p = 0; p < h * w; p++) mask[i * h * w + p] = m[p];
        }
        return new DenseBatch(Tensor.of(img, n, c, h, w), Tensor.of(mask, n, h, w), List.copyOf(ex), List.copyOf(indices));
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
