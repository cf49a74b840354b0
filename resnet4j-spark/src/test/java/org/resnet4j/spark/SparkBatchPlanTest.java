package org.resnet4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.resnet4j.data.DataLoader;
import org.resnet4j.data.SyntheticShapes;

/** The sharding of global batches (no Spark needed). */
class SparkBatchPlanTest {
    /** Step t's global batch is the loader's t-th batch, across epochs; the shards are its contiguous thirds. */
    @Test
    void shardsOfStepTAreTheSingleMachineBatchCutInOrder() {
        SyntheticShapes data = new SyntheticShapes(50, 3);
        int batch = 12, replicas = 3;
        BatchPlan plan = new BatchPlan(data, batch, replicas, 9);
        DataLoader loader = new DataLoader(data, null, batch, true, 9, 0, 0, true);
        assertEquals(50 / 12, plan.batchesPerEpoch());
        for (int step = 0; step < 3 * plan.batchesPerEpoch(); step++) {
            int epoch = step / plan.batchesPerEpoch(), k = step % plan.batchesPerEpoch();
            int[] expected = Arrays.copyOfRange(loader.order(epoch), k * batch, (k + 1) * batch);
            int[] global = plan.globalBatch(step);
            assertArrayEquals(expected, global, "step " + step);
            int[] joined = new int[0];
            for (int r = 0; r < replicas; r++) {
                int[] shard = plan.shard(global, r);
                assertEquals(batch / replicas, shard.length);
                int[] j = Arrays.copyOf(joined, joined.length + shard.length);
                System.arraycopy(shard, 0, j, joined.length, shard.length);
                joined = j;
            }
            assertArrayEquals(global, joined, "the shards of step " + step + ", in replica order, are the batch");
        }
        assertTrue(!Arrays.equals(plan.globalBatch(0), plan.globalBatch(plan.batchesPerEpoch())), "each epoch draws a new order");
    }

    @Test
    void badSizesAreRefusedNamingTheNumbers() {
        SyntheticShapes data = new SyntheticShapes(20, 3);
        var uneven = assertThrows(IllegalArgumentException.class, () -> new BatchPlan(data, 10, 4, 1));
        assertTrue(uneven.getMessage().contains("global batch 10 is not divisible by 4 replicas")
                && uneven.getMessage().contains("e.g. 8 or 12"), uneven.getMessage());
        var big = assertThrows(IllegalArgumentException.class, () -> new BatchPlan(data, 24, 2, 1));
        assertTrue(big.getMessage().contains("24") && big.getMessage().contains("(20 samples)"), big.getMessage());
        var none = assertThrows(IllegalArgumentException.class, () -> new BatchPlan(data, 8, 0, 1));
        assertTrue(none.getMessage().contains("replicas must be >= 1"), none.getMessage());
    }
}
