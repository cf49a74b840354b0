package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

/**
 * Optimizers, schedules and clipping against PyTorch 1.13 (tools/make_optim_goldens.py, float64
 * reference for float32 inputs), within 1e-6 relative to each tensor's largest magnitude.
 */
class OptimGoldenTest {
    static final double TOL = 1e-6;
    static final String[] NAMES = {"a", "b", "c"};
    static final int STEPS = 5;
    static Map<String, Tensor> g;

    @BeforeAll
    static void read() throws Exception {
        g = SafeTensors.read(Path.of("src/test/resources/goldens/optim.safetensors")).tensors();
    }

    /** The script's groups: {a, b} with the defaults; {c} with weight decay 0 and half the lr. */
    static Map<String, Parameter> params() {
        Map<String, Parameter> ps = new LinkedHashMap<>();
        for (String n : NAMES) ps.put(n, new Parameter(g.get("init/" + n).copy()));
        return ps;
    }

    static List<ParamGroup> groups(Map<String, Parameter> ps) {
        return List.of(new ParamGroup("decay", Map.of("a", ps.get("a"), "b", ps.get("b"))),
                new ParamGroup("no_decay", Map.of("c", ps.get("c"))).setWeightDecay(0).setLrScale(0.5));
    }

    static Optimizer build(String name, List<ParamGroup> gs) {
        ParamGroup c = gs.get(1);
        return switch (name) {
            case "sgd_momentum" -> new SGD(gs, 0.1, 0.9, 0, 5e-4, false);
            case "sgd_nesterov", "sgd_sched" -> new SGD(gs, 0.1, 0.9, 0, 5e-4, true);
            case "sgd_dampening" -> new SGD(gs, 0.1, 0.9, 0.1, 5e-4, false);
            case "sgd_plain" -> new SGD(gs, 0.1, 0, 5e-4);
            case "sgd_group_options" -> {
                c.setOption("momentum", 0.5).setOption("dampening", 0.2);
                yield new SGD(gs, 0.1, 0.9, 5e-4);
            }
            case "adamw" -> new AdamW(gs, 1e-3, 0.9, 0.999, 1e-8, 1e-2);
            case "adamw_sched" -> new AdamW(gs, 1e-3, 1e-2);
            case "adamw_eps" -> {
                c.setOption("beta1", 0.5).setOption("beta2", 0.9);
                yield new AdamW(gs, 1e-2, 0.8, 0.99, 1e-3, 0.1);
            }
            default -> throw new AssertionError(name);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"sgd_momentum", "sgd_nesterov", "sgd_dampening", "sgd_plain", "sgd_sched", "sgd_group_options",
        "adamw", "adamw_sched", "adamw_eps"})
    void optimizerMatchesPyTorch(String name) {
        Map<String, Parameter> ps = params();
        Optimizer opt = build(name, groups(ps));
        float[] lrs = g.get(name + "/lr").data();
        for (int t = 1; t <= STEPS; t++) {
            opt.zeroGrad();
            for (String n : NAMES) {
                Tensor grad = g.get("grad" + t + "/" + n); // absent: PyTorch had grad None there
                if (grad != null) ps.get(n).addGrad(grad);
            }
            opt.setLr(lrs[t - 1]);
            opt.step();
            for (String n : NAMES) assertClose(name + " step " + t + " " + n, g.get(name + "/step" + t + "/" + n), ps.get(n).value());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"step", "multistep", "cosine", "onecycle", "warmup_cosine"})
    void scheduleMatchesPyTorch(String name) {
        LrSchedule s = switch (name) {
            case "step" -> new StepLR(0.1, 10, 0.1);
            case "multistep" -> new MultiStepLR(0.1, new long[] {15, 35}, 0.1);
            case "cosine" -> new CosineAnnealing(0.1, 50, 1e-4);
            case "onecycle" -> new OneCycle(0.1, 50);
            case "warmup_cosine" -> new Warmup(new CosineAnnealing(0.1, 45, 0), 5, 0.1);
            default -> throw new AssertionError(name);
        };
        float[] want = g.get("lr/" + name).data();
        assertEquals(50, want.length);
        for (int t = 0; t < want.length; t++) {
            // want is float32: its own rounding (6e-8 relative) is far inside the tolerance
            assertEquals(want[t], s.lr(t), TOL * Math.abs(want[t]), name + " at iteration " + t);
        }
    }

    @Test
    void parsedSpecsMatchPyTorch() {
        // itersPerEpoch 5: "step:2" is 10 iterations, milestones 3 and 7 epochs are 15 and 35
        float[] step = g.get("lr/step").data(), multi = g.get("lr/multistep").data(), cos = g.get("lr/warmup_cosine").data();
        LrSchedule s = LrSchedules.parse("step:2:0.1", 0.1, 50, 5);
        LrSchedule m = LrSchedules.parse("multistep:3,7:0.1", 0.1, 50, 5);
        LrSchedule w = LrSchedules.parse("cosine+warmup:1:0.1", 0.1, 50, 5);
        for (int t = 0; t < 50; t++) {
            assertEquals(step[t], s.lr(t), TOL * step[t]);
            assertEquals(multi[t], m.lr(t), TOL * multi[t]);
            assertEquals(cos[t], w.lr(t), TOL * cos[t], "warmup+cosine at " + t);
        }
    }

    @Test
    void clipGradNormMatchesPyTorch() {
        for (String c : new String[] {"clip1", "clip10"}) {
            double max = c.equals("clip1") ? 1 : 10;
            Parameter a = withGrad("a"), b = withGrad("b");
            double norm = GradClip.byNorm(List.of(a, b), max);
            double want = g.get(c + "/total_norm").data()[0];
            assertEquals(want, norm, TOL * want, c);
            assertClose(c + " a", g.get(c + "/a"), a.grad());
            assertClose(c + " b", g.get(c + "/b"), b.grad());
        }
        Parameter a = withGrad("a"), b = withGrad("b");
        GradClip.byValue(List.of(a, b), 0.3);
        assertClose("clipvalue a", g.get("clipvalue/a"), a.grad());
        assertClose("clipvalue b", g.get("clipvalue/b"), b.grad());
    }

    private static Parameter withGrad(String n) {
        Parameter p = new Parameter(Tensor.zeros(g.get("init/" + n).shape()));
        p.addGrad(g.get("grad1/" + n));
        return p;
    }

    static void assertClose(String what, Tensor want, Tensor got) {
        assertNotNull(want, what + ": no golden");
        assertTrue(want.sameShape(got), what + ": shape " + got.shapeString() + " vs " + want.shapeString());
        double scale = Math.max(want.maxAbs(), 1e-30), err = Tensor.maxAbsDiff(want, got) / scale;
        assertTrue(err <= TOL, what + ": relative error " + err);
    }
}
