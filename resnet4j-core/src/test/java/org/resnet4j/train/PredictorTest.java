package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.data.Normalize;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/** Batched inference answers as one image at a time does, ranked by softmax probability. */
class PredictorTest {
    @Test
    void batchesGiveTheSameLogitsAsSingleImagesAndRankBySoftmax() {
        Init.manualSeed(3);
        Module model = Models.create("resnet8", ModelConfig.defaults(4));
        List<String> names = List.of("a", "b", "c", "d");
        Predictor p = new Predictor(model, new Normalize(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.25f, 0.25f, 0.25f}), names, 3, 3);
        List<Tensor> images = new ArrayList<>();
        for (int i = 0; i < 7; i++) images.add(Tensor.uniform(100 + i, 0, 1, 3, 32, 32));
        List<Tensor> inputs = images.stream().map(p::preprocess).toList();
        float[][] batched = p.logits(inputs); // chunks of 3, 3, 1
        assertTrue(model.isTraining(), "the model keeps its mode");
        model.eval();
        for (int i = 0; i < images.size(); i++) {
            Tensor x = inputs.get(i);
            float[] one;
            try (var g = GradMode.noGrad()) {
                one = model.call(Variable.constant(x.reshape(1, 3, 32, 32))).value().data().clone();
            }
            assertArrayEquals(java.util.Arrays.copyOf(one, 4), batched[i], 1e-5f, "image " + i);
        }
        List<List<Predictor.Scored>> top = p.classify(images, 2);
        assertEquals(7, top.size());
        for (int i = 0; i < 7; i++) {
            double[] prob = Predictor.softmax(batched[i]);
            assertEquals(1.0, java.util.Arrays.stream(prob).sum(), 1e-9);
            int best = 0;
            for (int k = 1; k < 4; k++) if (prob[k] > prob[best]) best = k;
            assertEquals(best, top.get(i).getFirst().index());
            assertEquals(names.get(best), top.get(i).getFirst().label());
            assertTrue(top.get(i).get(0).probability() >= top.get(i).get(1).probability());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> p.logits(List.of(inputs.get(0), Tensor.zeros(3, 16, 16))));
        assertTrue(e.getMessage().contains("input 1") && e.getMessage().contains("[3, 16, 16]"), e.getMessage());
        assertArrayEquals(new double[] {0.5, 0.5}, Predictor.softmax(new float[] {1000f, 1000f}), 1e-12, "no overflow");
    }

    /** A server preprocesses on its request threads: ImageNet's eval transform from 8 threads at once gives what one thread gives. */
    @Test
    void preprocessingIsSafeFromManyThreadsAtOnce() throws Exception {
        Predictor p = Predictor.imagenet(Models.get("resnet18").createMeta(ModelConfig.defaults(1000)), 1);
        List<Tensor> images = new ArrayList<>();
        for (int i = 0; i < 16; i++) images.add(Tensor.uniform(100 + i, 0, 1, 3, 200 + 7 * i, 260 - 5 * i));
        List<Tensor> serial = new ArrayList<>();
        for (Tensor t : images) serial.add(p.preprocess(t));
        var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 4; round++) {
                List<java.util.concurrent.Future<Tensor>> got = new ArrayList<>();
                for (Tensor t : images) got.add(pool.submit(() -> p.preprocess(t)));
                for (int i = 0; i < images.size(); i++) assertArrayEquals(serial.get(i).data(), got.get(i).get().data(), "image " + i);
            }
        } finally {
            pool.shutdown();
        }
    }
}
