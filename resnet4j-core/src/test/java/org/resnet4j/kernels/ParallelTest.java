package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The compute team: every index runs exactly once, failures reach the caller, nesting runs inline. */
class ParallelTest {
    private int original;

    @BeforeEach
    void threads() {
        original = Parallel.threads();
        Parallel.setThreads(3);
    }

    @AfterEach
    void restore() {
        Parallel.setThreads(original);
    }

    @Test
    void everyIndexOnceInContiguousChunks() {
        for (int n : new int[] {1, 2, 3, 7, 100, 1001}) {
            for (int grain : new int[] {1, 5, 400}) {
                List<int[]> chunks = everyIndexOnce(n, grain, false);
                int expected = Math.min(3, Math.max(1, n / grain));
                assertEquals(expected, chunks.size(), "n=" + n + " grain=" + grain);
                for (int[] c : chunks) assertTrue(c[1] - c[0] >= n / expected, "chunk " + c[0] + ".." + c[1]);
            }
        }
    }

    /** Runs a region over [0, n) (guided or fixed chunks), checks that it ran each index once, and returns its chunks. */
    private static List<int[]> everyIndexOnce(int n, int grain, boolean guided) {
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        List<int[]> chunks = new ArrayList<>();
        Parallel.RangeBody body = (from, to) -> {
            synchronized (chunks) { chunks.add(new int[] {from, to}); }
            for (int i = from; i < to; i++) hits.incrementAndGet(i);
        };
        if (guided) Parallel.forRangeGuided(n, grain, body);
        else Parallel.forRange(n, grain, body);
        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "n=" + n + " grain=" + grain + " index " + i);
        return chunks;
    }

    @Test
    void chunksRunAtOnceOnTheCallerAndTheWorkers() throws InterruptedException {
        // each chunk waits until all three are running: only three threads at once get through
        for (int rep = 0; rep < 20; rep++) {
            CountDownLatch running = new CountDownLatch(3);
            Set<String> names = ConcurrentHashMap.newKeySet();
            AtomicInteger timedOut = new AtomicInteger();
            Parallel.forRange(3, 1, (from, to) -> {
                names.add(Thread.currentThread().getName());
                running.countDown();
                try {
                    if (!running.await(10, TimeUnit.SECONDS)) timedOut.incrementAndGet();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(0, timedOut.get(), "chunks waited for each other in vain: " + names);
            assertEquals(3, names.size(), names.toString());
            assertTrue(names.contains(Thread.currentThread().getName()), "the caller runs a chunk: " + names);
        }
        // and many short regions in a row, each complete when forRange returns
        long total = 0;
        for (int rep = 0; rep < 2000; rep++) {
            AtomicInteger sum = new AtomicInteger();
            Parallel.forRange(3, 1, (from, to) -> {
                for (int i = from; i < to; i++) sum.addAndGet(i + 1);
            });
            total += sum.get();
        }
        assertEquals(2000L * 6, total);
    }

    @Test
    void restParksTheWorkersAndTheNextRegionWakesThem() throws InterruptedException {
        Parallel.forRange(3, 1, (from, to) -> {}); // the workers have seen a region: they spin now
        // a replaced team's workers (same names) may still be on their way out: count this team's only
        long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (liveWorkers() > 2 && System.nanoTime() < gone) Thread.sleep(1);
        assertEquals(2, liveWorkers(), "workers of a replaced team still run");
        for (int rep = 0; rep < 5; rep++) {
            Parallel.rest();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            boolean parked;
            while (!(parked = workersParked()) && System.nanoTime() < end) Thread.sleep(1);
            assertTrue(parked, "both workers parked after rest()");
            CountDownLatch running = new CountDownLatch(3);
            Set<String> names = ConcurrentHashMap.newKeySet();
            Parallel.forRange(3, 1, (from, to) -> {
                names.add(Thread.currentThread().getName());
                running.countDown();
                try {
                    running.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(3, names.size(), "the region after rest() ran on the caller and both workers: " + names);
        }
    }

    private static boolean workersParked() {
        int parked = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("resnet4j-compute-") && t.isAlive() && t.getState() == Thread.State.WAITING) parked++;
        }
        return parked >= 2;
    }

    @Test
    void failureReachesTheCallerAndTheTeamGoesOn() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(3, 1, (from, to) -> {
            if (from == 2) throw new IllegalStateException("chunk at " + from);
        }));
        assertEquals("chunk at 2", e.getMessage());
        AtomicInteger count = new AtomicInteger();
        Parallel.forRange(300, 1, (from, to) -> count.addAndGet(to - from));
        assertEquals(300, count.get());
    }

    @Test
    void nestedRegionsRunInline() {
        AtomicIntegerArray hits = new AtomicIntegerArray(9);
        Parallel.forRange(3, 1, (a0, a1) -> {
            String outer = Thread.currentThread().getName();
            for (int a = a0; a < a1; a++) {
                int row = a;
                Parallel.forRange(3, 1, (b0, b1) -> {
                    assertEquals(outer, Thread.currentThread().getName(), "a nested region stays on its thread");
                    assertEquals(0, b0);
                    assertEquals(3, b1);
                    for (int b = b0; b < b1; b++) hits.incrementAndGet(row * 3 + b);
                });
            }
        });
        for (int i = 0; i < 9; i++) assertEquals(1, hits.get(i), "cell " + i);
    }

    @Test
    void concurrentCallersAreBothServed() throws InterruptedException {
        long[] totals = new long[4];
        Thread[] callers = new Thread[4];
        for (int t = 0; t < callers.length; t++) {
            int id = t;
            callers[t] = new Thread(() -> {
                for (int rep = 0; rep < 500; rep++) {
                    AtomicInteger sum = new AtomicInteger();
                    Parallel.forRange(64, 1, (from, to) -> sum.addAndGet(to - from));
                    totals[id] += sum.get();
                }
            });
            callers[t].start();
        }
        for (Thread c : callers) c.join();
        for (long total : totals) assertEquals(500L * 64, total);
    }

    @Test
    void guidedChunksCoverEveryIndexOnceAndShrinkToTheGrain() {
        for (int n : new int[] {1, 2, 3, 7, 100, 1001}) {
            for (int grain : new int[] {1, 5, 400}) {
                List<int[]> chunks = everyIndexOnce(n, grain, true);
                if (!Parallel.GUIDED || n < 2 * grain) continue;
                chunks.sort((a, b) -> Integer.compare(a[0], b[0]));
                for (int[] c : chunks) {
                    // each a sixth (2 x 3 threads) of what was left when it was claimed, and at least the grain but at the end
                    assertTrue(c[1] - c[0] <= Math.max(grain, (n - c[0]) / 6), "n=" + n + " grain=" + grain + " chunk " + c[0] + ".." + c[1]);
                    assertTrue(c[1] - c[0] >= grain || c[1] == n, "n=" + n + " grain=" + grain + " chunk " + c[0] + ".." + c[1]);
                }
            }
        }
    }

    /** A thread that stalls (its core taken by another process) holds up one chunk, and the others do the rest. */
    @Test
    void guidedWorkGoesAroundAStalledThread() throws InterruptedException {
        assumeTrue(Parallel.GUIDED, "-Dresnet4j.parallel.guided=false");
        int n = 600;
        AtomicInteger done = new AtomicInteger();
        AtomicInteger stalledChunk = new AtomicInteger(-1);
        AtomicInteger sawTheRestDone = new AtomicInteger();
        Parallel.forRangeGuided(n, 1, (from, to) -> {
            if (from == 0) { // the first chunk's thread stalls until every other chunk is done
                stalledChunk.set(to);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (done.get() < n - to && System.nanoTime() < deadline) Thread.onSpinWait();
                if (done.get() == n - to) sawTheRestDone.incrementAndGet();
            }
            done.addAndGet(to - from);
        });
        assertEquals(n, done.get());
        assertEquals(1, sawTheRestDone.get(), "the other threads left work to the stalled one");
        assertTrue(stalledChunk.get() <= n / 6, "the stalled chunk held " + stalledChunk.get() + " of " + n);
    }

    @Test
    void guidedFailuresReachTheCallerAndNestedRegionsRunInline() {
        RuntimeException e = assertThrows(RuntimeException.class, () -> Parallel.forRangeGuided(100, 1, (from, to) -> {
            if (from <= 50 && 50 < to) throw new IllegalStateException("at 50");
        }));
        assertEquals("at 50", e.getMessage());
        AtomicInteger sum = new AtomicInteger();
        Parallel.forRangeGuided(10, 1, (from, to) -> Parallel.forRangeGuided(4, 1, (a, b) -> sum.addAndGet(b - a)));
        assertTrue(sum.get() >= 4, "inner regions ran: " + sum.get());
        Parallel.forRange(3, 1, (from, to) -> {
            List<String> names = new ArrayList<>();
            Parallel.forRangeGuided(8, 1, (a, b) -> names.add(Thread.currentThread().getName()));
            assertEquals(List.of(Thread.currentThread().getName()), names, "a region inside a region runs on its thread, whole");
        });
    }

    @Test
    void oneThreadRunsInlineAndTheOldWorkersStop() throws InterruptedException {
        Parallel.setThreads(1);
        assertEquals(1, Parallel.threads());
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (liveWorkers() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(0, liveWorkers(), "workers of the replaced teams still run");
        List<String> names = new ArrayList<>();
        Parallel.forRange(10, 1, (from, to) -> names.add(Thread.currentThread().getName() + ":" + from + "-" + to));
        assertEquals(List.of(Thread.currentThread().getName() + ":0-10"), names);
    }

    private static long liveWorkers() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("resnet4j-compute-")).count();
    }
}
