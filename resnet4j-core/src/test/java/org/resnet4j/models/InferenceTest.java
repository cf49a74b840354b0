package org.resnet4j.models;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Inference;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.BufferPool;
import org.resnet4j.tensor.Tensor;

/**
 * {@link Inference}: reusing activation arrays, and giving inner outputs back during the call,
 * changes no bit of the result, and the arrays really are reused.
 */
class InferenceTest {
    private static Module model(String name, int classes) {
        Module m = Models.create(name, ModelConfig.defaults(classes));
        long seed = 5;
        for (Module sub : m.namedModules().values()) {
            if (sub instanceof BatchNorm2d bn) { // non-trivial folding
                bn.runningMean.copyFrom(Tensor.uniform(seed++, -0.5f, 0.5f, bn.channels));
                bn.runningVar.copyFrom(Tensor.uniform(seed++, 0.5f, 2f, bn.channels));
            }
        }
        return m;
    }

    private static Tensor plain(Module m, Tensor x) {
        try (var g = GradMode.noGrad()) {
            return m.call(Variable.constant(x)).value();
        }
    }

    @ParameterizedTest(name = "{0} at {1}x{1}, batch {2}")
    @CsvSource({"resnet18, 64, 2", "resnet50, 96, 1", "resnet20, 32, 4", "resnext50_32x4d, 32, 1"})
    void bitIdenticalToAPlainForwardCallAfterCall(String name, int size, int batch) {
        // 1200 classes: at batch 16 and more the logits themselves are pooled, and must be copied out
        Module m = model(name, 1200);
        m.eval();
        Inference inference = new Inference(m);
        List<Tensor> results = new ArrayList<>(), expected = new ArrayList<>();
        for (int call = 0; call < 3; call++) {
            Tensor x = Tensor.randn(100 + call, batch, 3, size, size);
            results.add(inference.run(x));
            expected.add(plain(m, x));
        }
        for (int call = 0; call < 3; call++) {
            // earlier results stay intact after later calls
            assertArrayEquals(expected.get(call).data(), results.get(call).data(), name + " call " + call);
            assertArrayEquals(expected.get(call).shape(), results.get(call).shape());
        }
    }

    @Test
    void pooledLogitsAreCopiedOut() {
        Module m = model("resnet20", 1200);
        Inference inference = new Inference(m);
        Tensor x1 = Tensor.randn(1, 16, 3, 32, 32), x2 = Tensor.randn(2, 16, 3, 32, 32);
        assertTrue(16 * 1200 >= BufferPool.MIN_ELEMENTS, "the logits are large enough to come from the pool");
        Tensor y1 = inference.run(x1);
        Tensor copy = y1.copy();
        inference.run(x2);
        assertArrayEquals(copy.data(), y1.data(), "a later call overwrote an earlier result");
    }

    @Test
    void arraysAreReusedAndInnerOutputsGivenBack() {
        Module m = model("resnet50", 10);
        m.eval();
        Tensor x = Tensor.randn(7, 1, 3, 96, 96);
        // what the pool would hold if nothing were given back during the call: the fused path makes
        // one array per convolution (BN, add and ReLU in its epilogue) and one for the max pool
        long[] all = new long[1];
        try (var g = GradMode.noGrad()) {
            Module.withForwardHook((mod, y) -> {
                boolean made = mod instanceof Conv2d || mod instanceof MaxPool2d;
                if (made && y.value().size() >= BufferPool.MIN_ELEMENTS) all[0] += 4L * y.value().size();
            }, () -> m.call(Variable.constant(x)));
        }
        Inference inference = new Inference(m);
        inference.run(x);
        long allocated = inference.allocatedBuffers(), bytes = inference.bufferBytes();
        inference.run(x);
        inference.run(x);
        assertEquals(allocated, inference.allocatedBuffers(), "later calls of the same shape allocate nothing");
        assertEquals(bytes, inference.bufferBytes());
        assertTrue(bytes > 0);
        // without the inner outputs given back, the pool would hold every activation (bytes >= all);
        // with them it holds the live few per array size (30 % here, less at 224x224)
        assertTrue(bytes < all[0] / 2, "pool holds " + bytes + " bytes; all activations take " + all[0]);
    }

    @Test
    void restoresTrainingModeAndLeavesRunningStatistics() {
        Module m = model("resnet20", 10);
        m.train();
        BatchNorm2d bn = (BatchNorm2d) m.namedModules().values().stream().filter(s -> s instanceof BatchNorm2d).findFirst().orElseThrow();
        Tensor mean = bn.runningMean.copy();
        Tensor x = Tensor.randn(3, 2, 3, 32, 32);
        Tensor y = new Inference(m).run(x);
        assertTrue(m.isTraining(), "training mode restored");
        assertArrayEquals(mean.data(), bn.runningMean.data(), "eval mode: running statistics untouched");
        m.eval();
        assertArrayEquals(plain(m, x).data(), y.data());
    }

    @Test
    void severalInferencesOnOneModuleInTrainingModeAtOnce() throws Exception {
        // Two Inferences share a module in training mode, as a server's copy and a test's
        // reference may: every call must see eval mode throughout, and the mode comes back after.
        Module m = model("resnet8", 6);
        m.train();
        Tensor x = Tensor.randn(7, 2, 3, 16, 16);
        m.eval();
        float[] expected = plain(m, x).data();
        m.train();
        int threads = 3, calls = 150;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<Integer>> wrong = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                wrong.add(pool.submit(() -> {
                    Inference inference = new Inference(m);
                    int bad = 0;
                    for (int c = 0; c < calls; c++) if (!java.util.Arrays.equals(expected, inference.run(x).data())) bad++;
                    return bad;
                }));
            }
            for (var w : wrong) assertEquals(0, w.get(120, java.util.concurrent.TimeUnit.SECONDS), "calls that did not see eval mode");
        } finally {
            pool.shutdownNow();
        }
        assertTrue(m.isTraining(), "training mode restored after the last call");
    }
}
