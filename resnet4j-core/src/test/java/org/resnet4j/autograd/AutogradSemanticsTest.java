package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.autograd.ops.Conv2dOp;
import org.resnet4j.autograd.ops.LinearOp;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.ReluOp;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.models.BasicBlock;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

/** Graph recording, gradient accumulation and fan-out: the bookkeeping around the ops. */
class AutogradSemanticsTest {

    private static Variable leaf(long seed, int... shape) {
        return Variable.leaf(Tensor.randn(seed, shape));
    }

    @Test
    void noGradRecordsNothing() {
        Variable x = leaf(1, 2, 3, 5, 5), w = leaf(2, 4, 3, 3, 3);
        Variable y;
        try (var g = GradMode.noGrad()) {
            assertFalse(GradMode.isEnabled());
            y = ReluOp.apply(Conv2dOp.apply(x, w, null, Conv2dOp.Params.of(1, 1, 1, 1)));
            assertNull(y.gradFn());
            assertFalse(y.requiresGrad());
            // nested guards restore the outer (disabled) state
            try (var g2 = GradMode.noGrad()) {
                assertFalse(GradMode.isEnabled());
            }
            assertFalse(GradMode.isEnabled());
        }
        assertTrue(GradMode.isEnabled());
        assertThrows(IllegalStateException.class, () -> LossOps.mse(y, Variable.constant(Tensor.zeros(y.shape()))).backward());
        assertNull(x.grad());
        assertNull(w.grad());
        // same computation with grad mode back on records a graph
        Variable y2 = ReluOp.apply(Conv2dOp.apply(x, w, null, Conv2dOp.Params.of(1, 1, 1, 1)));
        assertNotNull(y2.gradFn());
        assertTrue(y2.requiresGrad());
        assertArrayEquals(y.value().data(), y2.value().data(), 0f, "noGrad must not change values");
    }

    @Test
    void noGradThroughAModule() {
        Init.manualSeed(3);
        Module block = new BasicBlock(4, 4, 1, null, 1, 64, 1);
        try (var g = GradMode.noGrad()) {
            Variable y = block.call(leaf(4, 2, 4, 5, 5));
            assertNull(y.gradFn());
            assertFalse(y.requiresGrad());
        }
    }

    @Test
    void opsOnConstantsRecordNothing() {
        Variable a = Variable.constant(Tensor.randn(5, 3, 4)), b = Variable.constant(Tensor.randn(6, 3, 4));
        Variable y = AddOp.apply(a, b);
        assertNull(y.gradFn());
        assertFalse(y.requiresGrad());
    }

    /** conv -> relu -> flatten -> linear -> cross-entropy, with gradients on x, conv weight and linear weight. */
    private static Variable smallNet(Variable x, Variable cw, Variable lw) {
        Variable h = ReluOp.apply(Conv2dOp.apply(x, cw, null, Conv2dOp.Params.of(2, 1, 1, 1)));
        return LossOps.crossEntropy(LinearOp.apply(ReshapeOp.flatten(h), lw, null), new int[] {1, 3}, 0f);
    }

    @Test
    void gradientsAccumulateAcrossTwoBackwardCalls() {
        Variable x = leaf(10, 2, 3, 6, 6), cw = leaf(11, 4, 3, 3, 3), lw = leaf(12, 5, 36);
        smallNet(x, cw, lw).backward();
        float[] gx = x.grad().data().clone(), gc = cw.grad().data().clone(), gl = lw.grad().data().clone();
        assertTrue(Tensor.of(gx.clone(), gx.length).maxAbs() > 0 && Tensor.of(gc.clone(), gc.length).maxAbs() > 0);
        // a second forward + backward without zeroGrad adds the same gradient again (PyTorch's +=)
        smallNet(x, cw, lw).backward();
        for (int i = 0; i < gx.length; i++) assertEquals(2 * gx[i], x.grad().data()[i], 0f, "x " + i);
        for (int i = 0; i < gc.length; i++) assertEquals(2 * gc[i], cw.grad().data()[i], 0f, "conv w " + i);
        for (int i = 0; i < gl.length; i++) assertEquals(2 * gl[i], lw.grad().data()[i], 0f, "linear w " + i);
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void parameterGradientsAccumulateInAModule() {
        Init.manualSeed(13);
        Module block = new BasicBlock(4, 4, 1, null, 1, 64, 1);
        Variable x = Variable.constant(Tensor.randn(14, 2, 4, 5, 5));
        Tensor r = Tensor.randn(15, 2, 4, 5, 5);
        block.call(x).backward(r);
        java.util.Map<String, float[]> first = new java.util.LinkedHashMap<>();
        for (var e : block.namedParameters().entrySet()) first.put(e.getKey(), e.getValue().grad().data().clone());
        block.call(x).backward(r);
        for (var e : block.namedParameters().entrySet()) {
            float[] g1 = first.get(e.getKey()), g2 = e.getValue().grad().data();
            for (int i = 0; i < g1.length; i++) assertEquals(2 * g1[i], g2[i], 0f, e.getKey() + " " + i);
        }
        block.zeroGrad();
        for (Parameter p : block.parameters()) assertNull(p.grad());
    }

    @Test
    void fanOutReceivesTheSum() {
        // m = x W^T is used twice: out = m + relu(m); dL/dm = r * (1 + [m > 0]); dL/dx = dL/dm W
        Variable x = leaf(20, 3, 5), w = leaf(21, 4, 5);
        Variable m = LinearOp.apply(x, w, null);
        Variable out = AddOp.apply(m, ReluOp.apply(m));
        Tensor r = Tensor.randn(22, 3, 4);
        out.backward(r);
        float[] md = m.value().data(), rd = r.data(), wd = w.value().data(), xd = x.value().data();
        double[] dm = new double[12];
        for (int i = 0; i < 12; i++) dm[i] = rd[i] * (md[i] > 0 ? 2.0 : 1.0);
        for (int n = 0; n < 3; n++)
            for (int k = 0; k < 5; k++) {
                double s = 0;
                for (int o = 0; o < 4; o++) s += dm[n * 4 + o] * wd[o * 5 + k];
                assertEquals(s, x.grad().data()[n * 5 + k], 1e-5 * (1 + Math.abs(s)), "dx " + n + "," + k);
            }
        for (int o = 0; o < 4; o++)
            for (int k = 0; k < 5; k++) {
                double s = 0;
                for (int n = 0; n < 3; n++) s += dm[n * 4 + o] * xd[n * 5 + k];
                assertEquals(s, w.grad().data()[o * 5 + k], 1e-5 * (1 + Math.abs(s)), "dw " + o + "," + k);
            }
        // the intermediate's gradient is dropped once consumed (only leaves keep .grad)
        assertNull(m.grad());
    }

    @Test
    void leafUsedInTwoBranchesReceivesTheSum() {
        // y = relu(x) + x: dL/dx = r * ([x > 0] + 1)
        Variable x = leaf(30, 4, 6);
        Tensor r = Tensor.randn(31, 4, 6);
        AddOp.apply(ReluOp.apply(x), x).backward(r);
        for (int i = 0; i < 24; i++) {
            float expected = x.value().data()[i] > 0 ? 2 * r.data()[i] : r.data()[i];
            assertEquals(expected, x.grad().data()[i], 0f, "index " + i);
        }
    }

    /**
     * As PyTorch without retain_graph: a second backward() through a graph whose saved tensors were
     * freed is refused, before anything is accumulated, rather than silently adding a stale seed.
     */
    @Test
    void secondBackwardThroughTheSameGraphIsRefusedAndLeavesGradientsAlone() {
        Variable x = leaf(40, 3, 5), w = leaf(41, 2, 5);
        Variable loss = LossOps.mse(LinearOp.apply(x, w, null), Variable.constant(Tensor.randn(42, 3, 2)));
        loss.backward();
        float[] g1 = w.grad().data().clone();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("second time"), e.getMessage());
        assertArrayEquals(g1, w.grad().data(), 0f, "a refused backward must not touch the gradients");
        assertNull(loss.grad(), "the root keeps no gradient (only leaves do)");

        // the same after a backward from an intermediate value of the graph
        Variable y = LinearOp.apply(x, w, null);
        Variable loss2 = LossOps.mse(y, Variable.constant(Tensor.zeros(3, 2)));
        y.backward(Tensor.full(1f, 3, 2));
        assertThrows(IllegalStateException.class, loss2::backward);
    }
}
