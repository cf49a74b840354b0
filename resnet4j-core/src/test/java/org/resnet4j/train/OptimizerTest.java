package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

class OptimizerTest {
    private static Parameter param(float... v) {
        return new Parameter(Tensor.of(v.clone(), v.length));
    }

    private static List<ParamGroup> one(Parameter p) {
        return List.of(new ParamGroup("all", Map.of("w", p)));
    }

    private static void grad(Parameter p, float... g) {
        p.zeroGrad();
        p.addGrad(Tensor.of(g, g.length));
    }

    /** zeroGrad keeps each gradient's array for the next backward, which computes into it afresh. */
    @Test
    void zeroGradKeepsTheStorageAndTheNextBackwardStartsFromZero() {
        org.resnet4j.nn.Init.manualSeed(3);
        var lin = new org.resnet4j.nn.Linear(5, 3, true);
        SGD opt = new SGD(org.resnet4j.train.ParamGroups.of(lin, false), 0.1, 0.9, 0);
        var x1 = org.resnet4j.autograd.Variable.constant(Tensor.randn(1, 4, 5));
        var x2 = org.resnet4j.autograd.Variable.constant(Tensor.randn(2, 4, 5));
        org.resnet4j.autograd.ops.LossOps.mse(lin.call(x2), org.resnet4j.autograd.Variable.constant(Tensor.zeros(4, 3))).backward();
        float[] alone = lin.weight.grad().data().clone(); // x2's gradient from a clean start
        lin.zeroGrad();
        org.resnet4j.autograd.ops.LossOps.mse(lin.call(x1), org.resnet4j.autograd.Variable.constant(Tensor.zeros(4, 3))).backward();
        float[] first = lin.weight.grad().data();
        opt.zeroGrad();
        assertEquals(null, lin.weight.grad(), "zeroGrad drops the gradient");
        org.resnet4j.autograd.ops.LossOps.mse(lin.call(x2), org.resnet4j.autograd.Variable.constant(Tensor.zeros(4, 3))).backward();
        assertTrue(first == lin.weight.grad().data(), "the next backward reuses the array");
        assertArrayEquals(alone, lin.weight.grad().data(), "and writes x2's gradient alone into it");
    }

    @Test
    void sgdMomentumByHand() {
        Parameter p = param(1, -2);
        SGD opt = new SGD(one(p), 0.1, 0.9, 0.01);
        grad(p, 0.5f, 0.25f);
        opt.step();
        // d = g + 0.01 p = [0.51, 0.23]; first step: buf = d; p -= 0.1 d
        assertArrayEquals(new float[] {0.949f, -2.023f}, p.value().data(), 1e-7f);
        assertArrayEquals(new float[] {0.51f, 0.23f}, opt.stateDict().get("momentum_buffer/w").data(), 1e-7f);
        grad(p, 0.5f, 0.25f);
        opt.step();
        // d = [0.50949, 0.22977]; buf = 0.9 [0.51, 0.23] + d = [0.96849, 0.43677]; p -= 0.1 buf
        assertArrayEquals(new float[] {0.96849f, 0.43677f}, opt.stateDict().get("momentum_buffer/w").data(), 1e-7f);
        assertArrayEquals(new float[] {0.852151f, -2.066677f}, p.value().data(), 1e-7f);
    }

    @Test
    void sgdNesterovByHand() {
        Parameter p = param(1, -2);
        SGD opt = new SGD(one(p), 0.1, 0.9, 0, 0.01, true);
        grad(p, 0.5f, 0.25f);
        opt.step();
        // buf = d = [0.51, 0.23]; update = d + 0.9 buf = 1.9 d
        assertArrayEquals(new float[] {1 - 0.1f * 1.9f * 0.51f, -2 - 0.1f * 1.9f * 0.23f}, p.value().data(), 1e-7f);
    }

    @Test
    void adamWFirstStepByHand() {
        Parameter p = param(1, -2);
        AdamW opt = new AdamW(one(p), 0.1, 0.1);
        grad(p, 0.5f, -0.25f);
        opt.step();
        // bias-corrected m / sqrt(v) = g / |g| on step 1; decoupled decay multiplies p by 1 - lr wd = 0.99
        assertArrayEquals(new float[] {0.99f - 0.1f, -1.98f + 0.1f}, p.value().data(), 1e-6f);
        assertEquals(1f, opt.stateDict().get("step/w").data()[0]);
        assertArrayEquals(new float[] {0.05f, -0.025f}, opt.stateDict().get("exp_avg/w").data(), 1e-8f);
        assertArrayEquals(new float[] {0.00025f, 0.0000625f}, opt.stateDict().get("exp_avg_sq/w").data(), 1e-10f);
    }

    @Test
    void nullGradientIsSkippedIncludingWeightDecay() {
        Parameter a = param(1, 2), b = param(3, 4);
        SGD opt = new SGD(List.of(new ParamGroup("g", Map.of("a", a, "b", b))), 0.1, 0.9, 0.5);
        grad(a, 1, 1);
        opt.step();
        assertArrayEquals(new float[] {3, 4}, b.value().data());
        assertEquals(Set.of("momentum_buffer/a"), opt.stateDict().keySet());
        AdamW adam = new AdamW(List.of(new ParamGroup("g", Map.of("a", a, "b", b))), 0.1, 0.5);
        adam.step();
        assertArrayEquals(new float[] {3, 4}, b.value().data());
        assertEquals(Set.of("exp_avg/a", "exp_avg_sq/a", "step/a"), adam.stateDict().keySet());
    }

    @Test
    void groupLrScaleAndAbsoluteLr() {
        Parameter a = param(1), b = param(1), c = param(1);
        SGD opt = new SGD(List.of(new ParamGroup("a", Map.of("a", a)), new ParamGroup("b", Map.of("b", b)).setLrScale(0.5),
                new ParamGroup("c", Map.of("c", c)).setLr(0.01)), 1, 0, 0);
        opt.setLr(0.2);
        for (Parameter p : List.of(a, b, c)) grad(p, 1);
        opt.step();
        assertEquals(0.8f, a.value().data()[0], 1e-7);
        assertEquals(0.9f, b.value().data()[0], 1e-7);
        assertEquals(0.99f, c.value().data()[0], 1e-7);
        assertEquals(0.2, opt.lr());
        opt.zeroGrad();
        assertTrue(a.grad() == null && b.grad() == null && c.grad() == null);
    }

    @Test
    void argumentChecks() {
        Parameter p = param(1);
        assertThrows(IllegalArgumentException.class, () -> new SGD(one(p), 0.1, 0.9, 0.1, 0, true)); // nesterov + dampening
        assertThrows(IllegalArgumentException.class, () -> new SGD(one(p), 0.1, 0, 0, 0, true));     // nesterov, no momentum
        assertThrows(IllegalArgumentException.class, () -> new SGD(one(p), -1, 0.9, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(one(p), 1e-3, 1, 0.999, 1e-8, 0));
        var e = assertThrows(IllegalArgumentException.class,
                () -> new SGD(List.of(new ParamGroup("x", Map.of("w", p)).setOption("momentun", 0.5)), 0.1, 0.9, 0));
        assertTrue(e.getMessage().contains("momentun"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new SGD(List.of(new ParamGroup("x", Map.of("w", p)), new ParamGroup("y", Map.of("v", p))), 0.1, 0.9, 0));
        assertTrue(e.getMessage().contains("one group"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(new ParamGroup("x", Map.of())), 0.1, 0.9, 0));
    }

    /** Three parameters of different shapes with fixed, step-dependent gradients. */
    private static Map<String, Parameter> params() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("conv.weight", new Parameter(Tensor.randn(1, 2, 3, 2)));
        m.put("bn.weight", new Parameter(Tensor.randn(2, 3)));
        m.put("fc.bias", new Parameter(Tensor.randn(3, 4)));
        return m;
    }

    private static void grads(Map<String, Parameter> ps, int step) {
        int k = 0;
        for (Parameter p : ps.values()) {
            p.zeroGrad();
            p.addGrad(Tensor.randn(100L * step + k++, p.value().shape()));
        }
    }

    private static List<ParamGroup> split(Map<String, Parameter> ps) {
        return List.of(new ParamGroup("decay", Map.of("conv.weight", ps.get("conv.weight"))),
                new ParamGroup("no_decay", Map.of("bn.weight", ps.get("bn.weight"), "fc.bias", ps.get("fc.bias"))).setWeightDecay(0));
    }

    @Test
    void stateDictRoundTripGivesIdenticalSteps() {
        List<Function<List<ParamGroup>, Optimizer>> makers = List.of(
                gs -> new SGD(gs, 0.1, 0.9, 0, 5e-4, true), gs -> new AdamW(gs, 1e-3, 0.05));
        for (var make : makers) {
            Map<String, Parameter> a = params(), b = params();
            Optimizer optA = make.apply(split(a));
            for (int s = 0; s < 3; s++) {
                grads(a, s);
                optA.step();
            }
            Optimizer optB = make.apply(split(b));
            a.forEach((k, p) -> b.get(k).value().copyFrom(p.value()));
            optB.loadStateDict(optA.stateDict());
            for (int s = 3; s < 6; s++) {
                grads(a, s);
                grads(b, s);
                optA.step();
                optB.step();
            }
            a.forEach((k, p) -> assertArrayEquals(p.value().data(), b.get(k).value().data(), optA + " " + k));
            if (optA instanceof AdamW) assertEquals(6f, optB.stateDict().get("step/fc.bias").data()[0]);
        }
    }

    @Test
    void loadStateDictValidatesBeforeWriting() {
        Map<String, Parameter> ps = params();
        AdamW opt = new AdamW(split(ps), 1e-3, 0.01);
        grads(ps, 0);
        opt.step();
        Map<String, Tensor> good = new LinkedHashMap<>();
        opt.stateDict().forEach((k, v) -> good.put(k, v.copy()));
        Map<String, float[]> before = new LinkedHashMap<>();
        opt.stateDict().forEach((k, v) -> before.put(k, v.data().clone()));

        Map<String, Tensor> bad = new LinkedHashMap<>(good);
        bad.replaceAll((k, v) -> v.copy());
        bad.get("exp_avg/conv.weight").fill(7); // a valid entry that must not be written...
        bad.put("exp_avg_sq/bn.weight", Tensor.zeros(4));          // ...because of this one
        bad.put("exp_avg/nope.weight", Tensor.zeros(1));
        bad.put("momentum_buffer/fc.bias", Tensor.zeros(4));
        bad.remove("step/fc.bias");
        var e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(bad));
        for (String key : List.of("exp_avg_sq/bn.weight: expected shape [3], got [4]", "exp_avg/nope.weight",
                "momentum_buffer/fc.bias", "step/fc.bias: missing")) {
            assertTrue(e.getMessage().contains(key), "message lacks '" + key + "': " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("exp_avg_sq/bn.weight: missing"), "a wrong-shaped entry is reported once");
        opt.stateDict().forEach((k, v) -> assertArrayEquals(before.get(k), v.data(), k));

        Map<String, Tensor> fractional = new LinkedHashMap<>(good);
        fractional.put("step/fc.bias", Tensor.scalar(1.5f));
        assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(fractional));

        opt.loadStateDict(Map.of()); // an empty state is valid: every parameter starts fresh
        assertTrue(opt.stateDict().isEmpty());
    }

    static Object sink;

    @Test
    void stepAllocatesNothingOnceStateExists() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled(), "no allocation counter");
        long tid = Thread.currentThread().threadId();
        long probe = mx.getThreadAllocatedBytes(tid);
        sink = new float[4096];
        assertTrue(mx.getThreadAllocatedBytes(tid) - probe >= 16384, "the counter sees a 16 KB array"); // the probe works
        Map<String, Parameter> ps = params();
        grads(ps, 0);
        for (Optimizer opt : List.of(new SGD(split(ps), 0.1, 0.9, 0, 1e-4, true), new AdamW(split(ps), 1e-3, 0.01))) {
            for (int i = 0; i < 3; i++) opt.step(); // state creation, class loading
            long before = mx.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 200; i++) {
                opt.setLr(1e-3);
                opt.step();
            }
            long allocated = mx.getThreadAllocatedBytes(tid) - before;
            // 200 steps of 3 parameters: even one small object per parameter-step would be > 9 KB
            assertTrue(allocated < 1024, opt + " allocated " + allocated + " bytes in 200 steps");
        }
    }
}
