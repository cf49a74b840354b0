package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

class EmaTest {
    /** A weight, a running statistic and a batch counter, as a BN layer has. */
    static final class Tiny extends Module {
        final Parameter w;
        final Tensor mean, count;

        Tiny() {
            w = parameter("weight", Tensor.of(new float[] {1, 2}, 2));
            mean = buffer("running_mean", Tensor.of(new float[] {10}, 1));
            count = buffer("num_batches_tracked", Tensor.scalar(0));
        }

        @Override
        public Variable forward(Variable x) {
            return x;
        }
    }

    private static void set(Tiny m, float w0, float w1, float mean, float count) {
        m.w.value().data()[0] = w0;
        m.w.value().data()[1] = w1;
        m.mean.data()[0] = mean;
        m.count.data()[0] = count;
    }

    @Test
    void fixedDecayArithmetic() {
        Tiny m = new Tiny();
        Ema ema = new Ema(m, 0.9);
        set(m, 3, 4, 20, 1);
        ema.update();
        Map<String, Tensor> avg = ema.stateDict();
        assertArrayEquals(new float[] {1.2f, 2.2f}, avg.get("weight").data(), 1e-6f); // 0.9 [1, 2] + 0.1 [3, 4]
        assertEquals(11f, avg.get("running_mean").data()[0], 1e-5f);
        assertEquals(1f, avg.get("num_batches_tracked").data()[0]); // a counter: copied
        set(m, 5, 6, 20, 2);
        ema.update();
        assertArrayEquals(new float[] {1.58f, 2.58f}, avg.get("weight").data(), 1e-6f);
        assertEquals(2, ema.updates());
    }

    @Test
    void warmupDecay() {
        Tiny m = new Tiny();
        Ema ema = new Ema(m, 0.999, true);
        assertEquals(0.1, ema.currentDecay(), 1e-15); // (1 + 0) / (10 + 0)
        set(m, 3, 4, 10, 0);
        ema.update();
        assertArrayEquals(new float[] {2.8f, 3.8f}, ema.stateDict().get("weight").data(), 1e-6f); // 0.1 [1, 2] + 0.9 [3, 4]
        assertEquals(2.0 / 11, ema.currentDecay(), 1e-15);
        for (int i = 0; i < 20_000; i++) ema.update();
        assertEquals(0.999, ema.currentDecay(), 0); // capped at the configured decay
    }

    @Test
    void averagedWeightsAreSwappedInAndRestored() {
        Tiny m = new Tiny();
        Ema ema = new Ema(m, 0.5);
        set(m, 3, 4, 20, 7);
        ema.update(); // average: [2, 3], mean 15
        float[] seen = ema.withAveragedWeights(() -> m.w.value().data().clone());
        assertArrayEquals(new float[] {2, 3}, seen);
        assertArrayEquals(new float[] {3, 4}, m.w.value().data());
        assertEquals(20f, m.mean.data()[0]);
        assertThrows(IllegalStateException.class, () -> ema.withAveragedWeights(() -> {
            assertEquals(15f, m.mean.data()[0]);
            throw new IllegalStateException("evaluation failed");
        }));
        assertArrayEquals(new float[] {3, 4}, m.w.value().data(), "restored after an exception too");

        Tiny other = new Tiny();
        ema.copyTo(other);
        assertArrayEquals(new float[] {2, 3}, other.w.value().data());
    }

    @Test
    void loadValidatesKeysAndShapes() {
        Tiny m = new Tiny();
        Ema ema = new Ema(m, 0.9);
        Map<String, Tensor> bad = new LinkedHashMap<>();
        ema.stateDict().forEach((k, v) -> bad.put(k, Tensor.full(9, v.shape())));
        bad.put("weight", Tensor.zeros(3));
        var e = assertThrows(IllegalArgumentException.class, () -> ema.loadStateDict(bad, 5));
        assertTrue(e.getMessage().contains("weight: expected shape [2], got [3]"), e.getMessage());
        assertEquals(10f, ema.stateDict().get("running_mean").data()[0], "nothing written");
        assertEquals(0, ema.updates());
    }
}
