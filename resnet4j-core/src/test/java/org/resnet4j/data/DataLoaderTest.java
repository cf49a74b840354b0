package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.resnet4j.tensor.Tensor;

class DataLoaderTest {
    /** Example i is a 1x1x1 image holding i, label i % 3; chosen indices fail in chosen ways. */
    static final class Indexed implements Dataset {
        final int n;
        final Set<Integer> corrupt;
        final int failAt;
        final RuntimeException failWith;
        final IOException ioFailure;
        final AtomicInteger loads = new AtomicInteger();
        final Set<String> threads = ConcurrentHashMap.newKeySet();

        Indexed(int n, Set<Integer> corrupt, int failAt, RuntimeException failWith, IOException ioFailure) {
            this.n = n;
            this.corrupt = corrupt;
            this.failAt = failAt;
            this.failWith = failWith;
            this.ioFailure = ioFailure;
        }

        Indexed(int n) {
            this(n, Set.of(), -1, null, null);
        }

        @Override
        public int size() {
            return n;
        }

        @Override
        public Example get(int index) throws IOException {
            loads.incrementAndGet();
            threads.add(Thread.currentThread().getName());
            if (corrupt.contains(index)) throw new CorruptImageException(Path.of("img" + index + ".jpg"), "not a JPEG");
            if (index == failAt) {
                if (failWith != null) throw failWith;
                throw ioFailure;
            }
            return new Example(Tensor.full(index, 1, 1, 1), index % 3);
        }

        @Override
        public List<String> classes() {
            return List.of("a", "b", "c");
        }
    }

    /** The image values (= dataset indices) of every batch, in order. */
    static List<int[]> indices(Iterable<Batch> epoch) {
        List<int[]> out = new ArrayList<>();
        for (Batch b : epoch) {
            int[] idx = new int[b.size()];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = (int) b.images().data()[i];
                assertEquals(idx[i] % 3, b.labels()[i]);
            }
            out.add(idx);
        }
        return out;
    }

    static int[] flat(List<int[]> batches) {
        return batches.stream().flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void everyIndexOncePerEpoch() {
        for (boolean shuffle : new boolean[] {false, true}) {
            try (DataLoader loader = new DataLoader(new Indexed(23), null, 5, shuffle, 7, 2, 1, false)) {
                assertEquals(5, loader.batchesPerEpoch());
                for (int epoch = 0; epoch < 3; epoch++) {
                    List<int[]> batches = indices(loader.epoch(epoch));
                    assertEquals(List.of(5, 5, 5, 5, 3), batches.stream().map(b -> b.length).toList());
                    int[] all = flat(batches);
                    assertArrayEquals(loader.order(epoch), all);
                    int[] sorted = all.clone();
                    Arrays.sort(sorted);
                    for (int i = 0; i < 23; i++) assertEquals(i, sorted[i]);
                    if (!shuffle) assertArrayEquals(sorted, all);
                }
            }
        }
    }

    @Test
    void orderIsAFunctionOfSeedAndEpoch() {
        try (DataLoader a = new DataLoader(new Indexed(50), null, 8, true, 42, 0, 0, false);
                DataLoader b = new DataLoader(new Indexed(50), null, 8, true, 42, 3, 2, false);
                DataLoader c = new DataLoader(new Indexed(50), null, 8, true, 43, 0, 0, false)) {
            assertArrayEquals(a.order(0), b.order(0));
            assertFalse(Arrays.equals(a.order(0), a.order(1)));
            assertFalse(Arrays.equals(a.order(1), a.order(2)));
            assertFalse(Arrays.equals(a.order(0), c.order(0)));
            assertArrayEquals(flat(indices(a.epoch(1))), flat(indices(a.epoch(1))));
        }
    }

    @Test
    void batchesIdenticalWhateverTheNumberOfWorkers() {
        SyntheticShapes shapes = new SyntheticShapes(45, 5);
        Transform augment = new Compose(new RandomCrop(32, 4), new RandomHorizontalFlip(), new ColorJitter(0.3, 0.3, 0.3, 0.05),
                new RandomErasing());
        List<List<Batch>> runs = new ArrayList<>();
        for (int workers : new int[] {0, 1, 3}) {
            try (DataLoader loader = new DataLoader(shapes, augment, 8, true, 123, workers, 2, false)
                    .batchTransform(BatchTransform.randomChoice(new MixUp(0.4), new CutMix(1.0)))) {
                List<Batch> all = new ArrayList<>();
                for (int epoch = 0; epoch < 2; epoch++) for (Batch b : loader.epoch(epoch)) all.add(b);
                runs.add(all);
            }
        }
        List<Batch> ref = runs.get(0);
        assertEquals(12, ref.size());
        for (List<Batch> run : runs.subList(1, 3)) {
            assertEquals(ref.size(), run.size());
            for (int i = 0; i < ref.size(); i++) {
                assertArrayEquals(ref.get(i).images().data(), run.get(i).images().data(), 0f, "batch " + i);
                assertArrayEquals(ref.get(i).labels(), run.get(i).labels());
                assertArrayEquals(ref.get(i).labelsB(), run.get(i).labelsB());
                assertEquals(ref.get(i).lambda(), run.get(i).lambda());
            }
        }
        // The augmentation of a sample is the transform applied with sampleRng(epoch, index).
        try (DataLoader plain = new DataLoader(shapes, augment, 45, false, 123, 2, 0, false)) {
            Batch b = plain.epoch(3).next();
            Tensor want = augment.apply(shapes.get(17).image(), plain.sampleRng(3, 17));
            assertArrayEquals(want.data(), b.image(17).data(), 0f);
        }
    }

    @Test
    void dropLast() {
        try (DataLoader keep = new DataLoader(new Indexed(10), null, 4, false, 1, 1, 1, false);
                DataLoader drop = new DataLoader(new Indexed(10), null, 4, false, 1, 1, 1, true)) {
            assertEquals(List.of(4, 4, 2), indices(keep.epoch(0)).stream().map(b -> b.length).toList());
            assertEquals(List.of(4, 4), indices(drop.epoch(0)).stream().map(b -> b.length).toList());
            assertEquals(3, keep.batchesPerEpoch());
            assertEquals(2, drop.batchesPerEpoch());
        }
    }

    @Test
    void corruptSamplesAreSkippedCountedAndReportedOnce() {
        Indexed ds = new Indexed(20, Set.of(3, 7), -1, null, null);
        List<CorruptImageException> reports = new ArrayList<>();
        try (DataLoader loader = new DataLoader(ds, null, 4, true, 5, 2, 1, false).onSkip(reports::add)) {
            List<int[]> e0 = indices(loader.epoch(0));
            assertEquals(List.of(4, 4, 4, 4, 2), e0.stream().map(b -> b.length).toList()); // full batches from the rest
            int[] got = flat(e0);
            assertArrayEquals(Arrays.stream(loader.order(0)).filter(i -> i != 3 && i != 7).toArray(), got);
            assertEquals(2, loader.skipped());
            assertEquals(Set.of(3, 7), loader.skippedIndices());
            indices(loader.epoch(1));
            assertEquals(4, loader.skipped());
        }
        assertEquals(2, reports.size());
        Set<String> files = Set.of(reports.get(0).file().toString(), reports.get(1).file().toString());
        assertEquals(Set.of("img3.jpg", "img7.jpg"), files);

        // With dropLast the 18 survivors make 4 full batches.
        try (DataLoader loader = new DataLoader(ds, null, 4, false, 5, 0, 0, true).onSkip(e -> { })) {
            assertEquals(List.of(4, 4, 4, 4), indices(loader.epoch(0)).stream().map(b -> b.length).toList());
        }
    }

    @Test
    void otherWorkerExceptionsReachTheConsumer() {
        IllegalStateException boom = new IllegalStateException("boom at 6");
        for (int workers : new int[] {0, 2}) {
            try (DataLoader loader = new DataLoader(new Indexed(12, Set.of(), 6, boom, null), null, 4, false, 1, workers, 1, false)) {
                Iterator<Batch> it = loader.epoch(0);
                assertTrue(it.hasNext());
                it.next();
                IllegalStateException e = assertThrows(IllegalStateException.class, it::next);
                assertSame(boom, e);
                assertFalse(it.hasNext()); // the epoch is over
            }
            IOException disk = new IOException("disk error");
            try (DataLoader loader = new DataLoader(new Indexed(12, Set.of(), 2, null, disk), null, 4, false, 1, workers, 1, false)) {
                UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> indices(loader.epoch(0)));
                assertSame(disk, e.getCause());
                assertTrue(e.getMessage().contains("sample 2"), e.getMessage());
                assertEquals(0, loader.skipped());
            }
        }
    }

    @Test
    void workersPrefetchAheadWithinTheBoundOnTheirOwnThreads() throws InterruptedException {
        Indexed ds = new Indexed(200);
        try (DataLoader loader = new DataLoader(ds, null, 10, false, 1, 2, 3, false)) {
            Iterator<Batch> it = loader.epoch(0);
            it.next();
            // One batch consumed; the window keeps (3 + 1) * 10 further samples submitted.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (ds.loads.get() < 50 && System.nanoTime() < deadline) Thread.sleep(5);
            Thread.sleep(50);
            assertEquals(50, ds.loads.get());
            for (String t : ds.threads) assertTrue(t.startsWith("resnet4j-data-"), t);
        }
        Indexed inline = new Indexed(10);
        try (DataLoader loader = new DataLoader(inline, null, 4, false, 1, 0, 5, false)) {
            indices(loader.epoch(0));
            assertEquals(Set.of(Thread.currentThread().getName()), inline.threads);
        }
    }

    @Test
    void closeStopsTheWorkers() throws InterruptedException {
        DataLoader loader = new DataLoader(new SyntheticShapes(500, 1), null, 10, true, 1, 3, 4, false);
        Iterator<Batch> it = loader.epoch(0);
        it.next();
        String prefix = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("resnet4j-data-")).findFirst().orElseThrow().replaceAll("\\d+$", "");
        loader.close();
        loader.close(); // idempotent
        boolean alive = Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith(prefix) && t.isAlive());
        assertFalse(alive, "worker threads still running");
        assertThrows(IllegalStateException.class, () -> loader.epoch(1));
        assertThrows(IllegalStateException.class, it::hasNext);
        assertNotEquals(0, prefix.length());
    }

    @Test
    void newEpochAbandonsThePreviousOneAndEpochsIterateOnce() {
        try (DataLoader loader = new DataLoader(new Indexed(30), null, 4, true, 2, 2, 2, false)) {
            DataLoader.Epoch first = loader.epoch(0);
            first.next();
            List<int[]> second = indices(loader.epoch(1));
            assertEquals(30, flat(second).length);
            assertFalse(first.hasNext());
            DataLoader.Epoch e = loader.epoch(2);
            e.iterator();
            assertThrows(IllegalStateException.class, e::iterator);
        }
    }
}
