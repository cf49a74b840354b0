package org.resnet4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.tensor.Tensor;

class ModuleTest {

    @Test
    void batchNormTrainUpdatesRunningStatsAndEvalDoesNot() {
        BatchNorm2d bn = new BatchNorm2d(2);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 10, 20, 30, 40}, 1, 2, 2, 2);
        bn.call(Variable.constant(x));
        // channel 0: mean 2.5, unbiased var 5/3; running = 0.9 * init + 0.1 * batch
        assertEquals(0.25f, bn.runningMean.data()[0], 1e-6);
        assertEquals(0.9f + 0.1f * 5f / 3f, bn.runningVar.data()[0], 1e-6);
        assertEquals(1f, bn.numBatchesTracked.data()[0]);
        bn.eval();
        Tensor before = bn.runningMean.copy();
        Tensor y = bn.call(Variable.constant(x)).value();
        assertEquals(0f, Tensor.maxAbsDiff(before, bn.runningMean));
        assertEquals(1f, bn.numBatchesTracked.data()[0]);
        // eval: (x - running_mean) / sqrt(running_var + eps)
        assertEquals((1 - 0.25) / Math.sqrt(bn.runningVar.data()[0] + 1e-5), y.data()[0], 1e-5);
    }

    @Test
    void frozenBatchNormSurvivesTrain() {
        Module m = Models.create("resnet20");
        BatchNorm2d bn = (BatchNorm2d) m.children().get("bn1");
        bn.setFrozen(true);
        m.train();
        Tensor before = bn.runningMean.copy();
        m.call(Variable.constant(Tensor.randn(1, 2, 3, 32, 32)));
        assertEquals(0f, Tensor.maxAbsDiff(before, bn.runningMean), "frozen BN must not update its statistics");
        assertEquals(0f, bn.numBatchesTracked.data()[0]);
        assertFalse(bn.weight.requiresGrad());
        assertTrue(bn.isTraining(), "train() still reaches the module; only BN behaviour is frozen");
    }

    @Test
    void freezeStopsGradientsUnderAPrefix() {
        Module m = Models.create("resnet20");
        m.freeze("conv1", "layer1");
        Variable y = m.call(Variable.constant(Tensor.randn(2, 2, 3, 32, 32)));
        new CrossEntropyLoss().apply(y, new int[] {1, 2}).backward();
        for (var e : m.namedParameters().entrySet()) {
            boolean frozen = e.getKey().startsWith("conv1.") || e.getKey().startsWith("layer1.");
            assertEquals(!frozen, e.getValue().requiresGrad(), e.getKey());
            if (frozen) assertNull(e.getValue().grad(), e.getKey());
            else assertTrue(e.getValue().grad() != null, e.getKey());
        }
        var ex = assertThrows(IllegalArgumentException.class, () -> m.freeze("layer7"));
        assertTrue(ex.getMessage().contains("layer7"));
        m.unfreeze("layer1");
        assertTrue(m.namedParameters().get("layer1.0.conv1.weight").requiresGrad());
    }

    @Test
    void failedLoadChangesNothing() {
        Module m = Models.create("resnet20");
        LinkedHashMap<String, Tensor> before = new LinkedHashMap<>();
        m.stateDict().forEach((k, v) -> before.put(k, v.copy()));
        LinkedHashMap<String, Tensor> src = new LinkedHashMap<>();
        m.stateDict().forEach((k, v) -> src.put(k, Tensor.full(7f, v.shape())));
        src.put("fc.weight", Tensor.zeros(11, 64)); // wrong shape, listed last in the model
        var ex = assertThrows(IllegalArgumentException.class, () -> m.loadStateDict(src, true));
        assertTrue(ex.getMessage().contains("fc.weight: expected [10, 64], got [11, 64]"), ex.getMessage());
        m.stateDict().forEach((k, v) -> assertEquals(0f, Tensor.maxAbsDiff(before.get(k), v), k + " was overwritten"));
    }

    @Test
    void nonStrictLoadReportsWhatItSkipped() {
        Module m = Models.create("resnet20");
        LinkedHashMap<String, Tensor> src = new LinkedHashMap<>(Models.create("resnet20").stateDict());
        src.remove("fc.bias");
        src.put("extra.weight", Tensor.zeros(1));
        Module.LoadReport r = m.loadStateDict(src, false);
        assertEquals(java.util.List.of("fc.bias"), r.missing());
        assertEquals(java.util.List.of("extra.weight"), r.unexpected());
    }

    @Test
    void evalAndTrainReachEveryModule() {
        Module m = Models.create("resnet20");
        m.eval();
        m.namedModules().values().forEach(x -> assertFalse(x.isTraining()));
        m.train();
        m.namedModules().values().forEach(x -> assertTrue(x.isTraining()));
    }

    @Test
    void dropoutScalesSurvivorsAndIsIdentityInEval() {
        Dropout d = new Dropout(0.25f);
        Tensor x = Tensor.full(1f, 10000);
        float[] y = d.call(Variable.constant(x)).value().data();
        int zeros = 0;
        for (float v : y) {
            if (v == 0f) zeros++;
            else assertEquals(1f / 0.75f, v, 1e-6);
        }
        assertEquals(2500, zeros, 200);
        d.eval();
        assertArrayEquals(x.data(), d.call(Variable.constant(x)).value().data());
    }

    @Test
    void metaBuildHasShapesButNoStorage() {
        Module m = Models.get("resnet152").createMeta(ModelConfig.defaults(1000));
        assertEquals(60192808L, m.parameterCount());
        assertTrue(m.stateDict().get("fc.weight").isMeta());
    }
}
