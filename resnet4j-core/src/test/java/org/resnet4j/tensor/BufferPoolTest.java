package org.resnet4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.CrossEntropyLoss;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.train.ParamGroups;
import org.resnet4j.train.SGD;

class BufferPoolTest {
    private static final int BIG = BufferPool.MIN_ELEMENTS;

    /** Three SGD steps of a ResNet-20 at batch 8, with or without a pool: the parameters afterwards. */
    private static List<float[]> train(BufferPool pool, int steps) {
        return train("resnet20", 8, 32, pool, steps);
    }

    /** SGD steps of a model at batch {@code batch} on size x size inputs: the parameters afterwards. */
    private static List<float[]> train(String model, int batch, int size, BufferPool pool, int steps) {
        Init.manualSeed(11);
        Module m = Models.create(model, ModelConfig.defaults(10));
        m.train();
        Tensor x = Tensor.randn(7, batch, 3, size, size);
        int[] y = new int[batch];
        for (int i = 0; i < batch; i++) y[i] = i % 10;
        SGD opt = new SGD(ParamGroups.of(m, false), 0.1, 0.9, 5e-4);
        CrossEntropyLoss loss = new CrossEntropyLoss();
        for (int s = 0; s < steps; s++) {
            opt.zeroGrad();
            if (pool == null) {
                loss.apply(m.call(Variable.constant(x)), y).backward();
            } else {
                try (var step = pool.open()) {
                    loss.apply(m.call(Variable.constant(x)), y).backward();
                    for (Parameter p : m.parameters()) {
                        assertFalse(BufferPool.isPooled(p.grad().data()), "a parameter's gradient must live outside the pool");
                    }
                }
            }
            opt.step();
        }
        return m.parameters().stream().map(p -> p.value().data().clone()).toList();
    }

    @Test
    void trainingWithThePoolIsBitIdenticalAndAllocatesNothingAfterTheFirstStep() {
        List<float[]> plain = train(null, 3);
        BufferPool pool = new BufferPool();
        train(pool, 1);
        long afterOne = pool.allocatedCount();
        long bytesAfterOne = pool.bytes();
        assertTrue(afterOne > 10, "a ResNet-20 step allocates many large buffers, got " + afterOne);
        assertTrue(pool.reusedCount() > 0, "gradients consumed within the first step are reused within it");

        BufferPool pool3 = new BufferPool();
        List<float[]> pooled = train(pool3, 3);
        assertEquals(plain.size(), pooled.size());
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), pooled.get(i), "parameter " + i);
        assertEquals(afterOne, pool3.allocatedCount(), "steps 2 and 3 reuse the first step's buffers");
        assertEquals(bytesAfterOne, pool3.bytes());
    }

    @Test
    void givingActivationsBackDuringBackwardIsBitIdenticalAndLowersThePeak() {
        // ResNet-20 (basic blocks, padded shortcuts) and ResNet-50 (bottlenecks, projection
        // shortcuts, max pool) large enough for their activations to be pooled
        for (Object[] c : new Object[][] {{"resnet20", 8, 32}, {"resnet50", 2, 64}}) {
            String model = (String) c[0];
            int batch = (Integer) c[1], size = (Integer) c[2];
            List<float[]> plain = train(model, batch, size, null, 2);
            BufferPool keeping = new BufferPool(false), releasing = new BufferPool(true);
            List<float[]> kept = train(model, batch, size, keeping, 2);
            List<float[]> released = train(model, batch, size, releasing, 2);
            for (int i = 0; i < plain.size(); i++) {
                assertArrayEquals(plain.get(i), kept.get(i), model + " parameter " + i + " (pool keeping activations)");
                assertArrayEquals(plain.get(i), released.get(i), model + " parameter " + i + " (pool giving them back)");
            }
            assertTrue(releasing.bytes() < keeping.bytes(),
                    model + ": gradients reuse given-back activations: " + releasing.bytes() + " vs " + keeping.bytes() + " bytes");
        }
    }

    @Test
    void eachBlocksInnerActivationIsRecomputedOnceInsteadOfKept() {
        Module m = Models.create("resnet20", ModelConfig.defaults(10));
        m.train();
        Tensor x = Tensor.randn(7, 8, 3, 32, 32);
        int[] y = {0, 1, 2, 3, 4, 5, 6, 7};
        for (boolean release : new boolean[] {false, true}) {
            org.resnet4j.autograd.OpProfile.start();
            try (var s = new BufferPool(release).open()) {
                new CrossEntropyLoss().apply(m.call(Variable.constant(x)), y).backward();
            }
            long recomputed = org.resnet4j.autograd.OpProfile.stop().stream()
                    .filter(r -> r.op().equals("BatchNormOp+ReLU recompute")).mapToLong(org.resnet4j.autograd.OpProfile.Row::calls).sum();
            // ResNet-20 has 9 blocks, each with one conv whose input (bn1's output) is given back
            assertEquals(release ? 9 : 0, recomputed, "release " + release);
        }
    }

    @Test
    void backwardGivesActivationsBackOnlyInAReleasingPool() {
        Variable w = Variable.leaf(Tensor.randn(3, 2, BIG));
        for (boolean release : new boolean[] {false, true}) {
            BufferPool pool = new BufferPool(release);
            try (var s = pool.open()) {
                Variable h = org.resnet4j.autograd.ops.ReluOp.apply(org.resnet4j.autograd.ops.AddOp.apply(w, w));
                float[] storage = h.value().data(), kept = storage.clone();
                org.resnet4j.autograd.ops.LossOps.mse(h, Variable.constant(Tensor.zeros(h.shape()))).backward();
                assertEquals(release, BufferPool.isFree(storage), "release " + release);
                if (release) {
                    var e = assertThrows(IllegalStateException.class, h::value, "a given-back value is not shown");
                    assertTrue(e.getMessage().contains("read it before backward"), e.getMessage());
                } else {
                    assertArrayEquals(kept, h.value().data(), "a keeping pool leaves values readable after backward");
                }
            }
        }
    }

    @Test
    void buffersComeBackZeroedOnlyAfterTheNextOpen() {
        BufferPool pool = new BufferPool();
        float[] first;
        try (var s = pool.open()) {
            Tensor t = Tensor.zeros(2, BIG);
            first = t.data();
            assertTrue(BufferPool.isPooled(first));
            first[5] = 3f;
            assertNotSame(first, Tensor.zeros(2, BIG).data(), "a buffer in use is not handed out twice");
        }
        assertEquals(3f, first[5], "still readable after the scope closes");
        assertFalse(BufferPool.isPooled(Tensor.zeros(2, BIG).data()), "outside a scope tensors come from the heap");
        try (var s = pool.open()) {
            float[] again = Tensor.zeros(2, BIG).data();
            assertTrue(again == first || Tensor.zeros(2, BIG).data() == first, "the next step reuses the buffers");
            assertEquals(0f, first[5], "and zeroes them");
            assertFalse(BufferPool.isPooled(Tensor.zeros(BIG - 1).data()), "small tensors stay on the heap");
        }
    }

    @Test
    void recyclingHandsABufferOutAgainWithinTheStepOnce() {
        BufferPool pool = new BufferPool();
        try (var s = pool.open()) {
            float[] a = Tensor.zeros(BIG).data();
            a[0] = 1f;
            BufferPool.recycle(a);
            float[] b = Tensor.zeros(BIG).data();
            assertSame(a, b);
            assertEquals(0f, b[0]);
            BufferPool.recycle(b);
            BufferPool.recycle(b); // twice: still queued once
            assertNotSame(Tensor.zeros(BIG).data(), Tensor.zeros(BIG).data(), "a buffer given back twice is handed out once");
            BufferPool.recycle(new float[BIG]); // not the pool's: ignored
            assertEquals(2, pool.allocatedCount());
        }
        assertThrows(IllegalStateException.class, () -> {
            try (var s = pool.open(); var t = pool.open()) {
                Tensor.zeros(1);
            }
        }, "a pool opened twice on one thread is refused");
    }
}
