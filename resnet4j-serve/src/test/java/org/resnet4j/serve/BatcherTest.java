package org.resnet4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.resnet4j.tensor.Tensor;

/** The batching policy itself, without HTTP: who waits for company and who does not. */
class BatcherTest {
    private static final long FAR = Long.MAX_VALUE / 2;

    @Test
    void aLoneRequestRunsAtOnceInsteadOfWaitingTheMaxDelay() throws Exception {
        List<Integer> sizes = new ArrayList<>();
        // a 60 s max delay: a lone request that waited for company would miss the 20 s bound below
        try (Batcher b = new Batcher(x -> {
            sizes.add(x.size());
            return new float[x.size()][1];
        }, 8, 60_000, 16, new ServeMetrics(), "t")) {
            for (int i = 0; i < 3; i++) {
                Batcher.Job j = b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR);
                j.result.get(20, TimeUnit.SECONDS);
            }
        }
        assertEquals(List.of(1, 1, 1), sizes);
    }

    @Test
    void concurrentRequestsWaitForEachOtherUpToTheBatchSize() throws Exception {
        CountDownLatch first = new CountDownLatch(1), release = new CountDownLatch(1);
        List<Integer> sizes = new ArrayList<>();
        try (Batcher b = new Batcher(x -> {
            sizes.add(x.size());
            first.countDown();
            try {
                if (sizes.size() == 1) release.await(20, TimeUnit.SECONDS); // hold the first batch while the others arrive
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new float[x.size()][1];
        }, 4, 60_000, 16, new ServeMetrics(), "t")) {
            List<Batcher.Job> jobs = new ArrayList<>();
            jobs.add(b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR));
            assertTrue(first.await(20, TimeUnit.SECONDS));
            for (int i = 0; i < 4; i++) jobs.add(b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR));
            release.countDown();
            for (Batcher.Job j : jobs) j.result.get(20, TimeUnit.SECONDS);
        }
        // five in the server at once: the four that queued behind the first run as one batch, the
        // batch fills to 4 at once, without waiting the 60 s delay
        assertEquals(List.of(1, 4), sizes);
    }

    @Test
    void theCapacityCountsTheRunningBatchAndLetsAnOversizedRequestInAlone() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        // each forward pass waits for the gate in place when it starts
        java.util.concurrent.atomic.AtomicReference<CountDownLatch> gate = new java.util.concurrent.atomic.AtomicReference<>(new CountDownLatch(1));
        int capacity = 3;
        try (Batcher b = new Batcher(x -> {
            entered.countDown();
            try {
                gate.get().await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new float[x.size()][1];
        }, 1, 0, capacity, new ServeMetrics(), "t")) {
            List<Batcher.Job> jobs = new ArrayList<>();
            jobs.add(b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR));
            assertTrue(entered.await(20, TimeUnit.SECONDS), "the first batch runs");
            // one image running: capacity - 1 more may wait, and no more
            for (int i = 1; i < capacity; i++) jobs.add(b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR));
            assertEquals(capacity - 1, b.queued());
            assertNull(b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR), "the running image counts against the capacity");
            gate.getAndSet(new CountDownLatch(0)).countDown(); // open from now on
            for (Batcher.Job j : jobs) j.result.get(20, TimeUnit.SECONDS);
            CountDownLatch second = new CountDownLatch(1);
            gate.set(second); // the next forward pass waits again
            // all answered: a request of more images than the capacity gets in alone
            List<Tensor> large = new ArrayList<>();
            for (int i = 0; i <= capacity; i++) large.add(Tensor.zeros(1, 2, 2));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            Batcher.Job big = null;
            while (big == null && System.nanoTime() < until) {
                big = b.submit(large, FAR); // null only until the last answer's bookkeeping has run
                if (big == null) Thread.sleep(5);
            }
            assertNotNull(big, "an oversized request is let in when the model holds nothing");
            assertNull(b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR), "and nothing beside it");
            second.countDown();
            assertEquals(capacity + 1, big.result.get(20, TimeUnit.SECONDS).length);
        }
    }

    @Test
    void aLoneRequestRunsOnItsOwnThreadAndOneThatFindsCompanyOnTheWorkersAfterIt() throws Exception {
        CountDownLatch entered = new CountDownLatch(1), release = new CountDownLatch(1);
        List<String> ranOn = java.util.Collections.synchronizedList(new ArrayList<>());
        try (Batcher b = new Batcher(x -> {
            ranOn.add(Thread.currentThread().getName());
            entered.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new float[x.size()][1];
        }, 4, 0, 16, new ServeMetrics(), "t", true)) {
            Thread lone = Thread.ofPlatform().name("lone-request").start(() -> {
                Batcher.Job j = b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR);
                assertTrue(j.result.isDone(), "answered by the time submit returns: it ran on this thread");
            });
            assertTrue(entered.await(20, TimeUnit.SECONDS));
            // the model holds the lone request: this one is queued for the worker, which waits
            // for the running forward to end before it runs its own
            Batcher.Job second = b.submit(List.of(Tensor.zeros(1, 2, 2)), FAR);
            assertTrue(!second.result.isDone() && b.queued() + ranOn.size() >= 1);
            release.countDown();
            lone.join(20_000);
            second.result.get(20, TimeUnit.SECONDS);
        }
        assertEquals(List.of("lone-request", "resnet4j-batcher-t"), ranOn);
    }
}
