package org.resnet4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
