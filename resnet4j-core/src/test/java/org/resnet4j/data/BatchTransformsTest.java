package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.resnet4j.tensor.Tensor;

class BatchTransformsTest {
    /** N images of shape [c, h, w]; image i is filled with i + 1; labels 10 + i. */
    static Batch constantBatch(int n, int c, int h, int w) {
        List<Example> list = new ArrayList<>();
        for (int i = 0; i < n; i++) list.add(new Example(Tensor.full(i + 1f, c, h, w), 10 + i));
        return Batch.stack(list);
    }

    @Test
    void stackCollatesInOrder() {
        List<Example> list = List.of(new Example(TransformsTest.ramp(2, 1, 2), 4), new Example(Tensor.full(7f, 2, 1, 2), 1));
        Batch b = Batch.stack(list);
        assertArrayEquals(new int[] {2, 2, 1, 2}, b.images().shape());
        assertArrayEquals(new float[] {0, 1, 2, 3, 7, 7, 7, 7}, b.images().data(), 0f);
        assertArrayEquals(new int[] {4, 1}, b.labels());
        assertNull(b.labelsB());
        assertEquals(1f, b.lambda());
        assertFalse(b.mixed());
        assertArrayEquals(new float[] {7, 7, 7, 7}, b.image(1).data(), 0f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Batch.stack(List.of(new Example(Tensor.zeros(3, 4, 4), 0), new Example(Tensor.zeros(3, 5, 4), 0))));
        assertTrue(e.getMessage().contains("[3, 5, 4]") && e.getMessage().contains("Resize"), e.getMessage());
    }

    @Test
    void mixUpBlendsWithThePreviousImage() {
        Batch b = constantBatch(3, 1, 2, 2);
        Batch m = MixUp.mix(b, 0.25f);
        assertTrue(m.mixed());
        assertEquals(0.25f, m.lambda());
        assertArrayEquals(new int[] {10, 11, 12}, m.labels());
        assertArrayEquals(new int[] {12, 10, 11}, m.labelsB()); // labels rolled by one
        float[] d = m.images().data();
        float[] own = {1, 2, 3};
        float[] prev = {3, 1, 2};
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 4; k++) assertEquals(0.75f * prev[i] + 0.25f * own[i], d[i * 4 + k], 0f);
        }
        assertArrayEquals(constantBatch(3, 1, 2, 2).images().data(), b.images().data(), 0f); // input untouched
        assertThrows(IllegalArgumentException.class, () -> MixUp.mix(m, 0.5f)); // no double mixing

        Batch r = new MixUp(0.4).apply(b, new SplittableRandom(3));
        float lam = r.lambda();
        assertTrue(lam >= 0 && lam <= 1);
        assertEquals((1 - lam) * 3 + lam * 1, r.images().get(0, 0, 0, 0), 1e-6f);
    }

    @Test
    void mixUpLambdaFollowsBeta() {
        Batch b = constantBatch(2, 1, 1, 1);
        SplittableRandom rng = new SplittableRandom(1);
        double sum = 0;
        int extreme = 0;
        int n = 4000;
        for (int i = 0; i < n; i++) {
            float lam = new MixUp(1.0).apply(b, rng).lambda();
            sum += lam;
        }
        assertEquals(0.5, sum / n, 0.03); // Beta(1, 1) is uniform
        for (int i = 0; i < n; i++) {
            float lam = new MixUp(0.2).apply(b, rng).lambda();
            if (lam < 0.1 || lam > 0.9) extreme++;
        }
        // Beta(0.2, 0.2) puts about 2 * 0.36 = 72% of its mass below 0.1 or above 0.9.
        assertTrue(extreme > 0.64 * n && extreme < 0.8 * n, "extreme " + extreme);
    }

    @Test
    void cutMixPastesABoxAndAdjustsLambda() {
        Batch b = constantBatch(3, 2, 4, 4);
        Batch m = CutMix.paste(b, 1, 1, 3, 2); // x in [1, 3), y in [1, 2): 2 of 16 pixels
        assertEquals(1f - 2f / 16f, m.lambda());
        assertArrayEquals(new int[] {12, 10, 11}, m.labelsB());
        for (int i = 0; i < 3; i++) {
            float own = i + 1;
            float prev = i == 0 ? 3 : i;
            for (int c = 0; c < 2; c++) {
                for (int y = 0; y < 4; y++) {
                    for (int x = 0; x < 4; x++) {
                        boolean inBox = x >= 1 && x < 3 && y == 1;
                        assertEquals(inBox ? prev : own, m.images().get(i, c, y, x), 0f);
                    }
                }
            }
        }

        // Random boxes: lambda is exactly the fraction of each image that is still its own.
        for (long seed = 0; seed < 30; seed++) {
            Batch r = new CutMix(1.0).apply(constantBatch(2, 1, 8, 8), new SplittableRandom(seed));
            int own = 0;
            for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) if (r.images().get(1, 0, y, x) == 2f) own++;
            assertEquals(own / 64f, r.lambda(), 1e-7f, "seed " + seed);
            assertArrayEquals(new int[] {11, 10}, r.labelsB());
        }
    }

    @Test
    void randomChoiceUsesEveryOption() {
        BatchTransform pick = BatchTransform.randomChoice((b, r) -> MixUp.mix(b, 0.5f), (b, r) -> CutMix.paste(b, 0, 0, 1, 1));
        Batch b = constantBatch(2, 1, 2, 2);
        int mix = 0;
        for (long seed = 0; seed < 40; seed++) if (pick.apply(b, new SplittableRandom(seed)).lambda() == 0.5f) mix++;
        assertTrue(mix > 5 && mix < 35, "mixup chosen " + mix);
    }
}
