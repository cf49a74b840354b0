package org.resnet4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;
import org.resnet4j.testing.Goldens;

/** State-dict keys, order and shapes equal torchvision's; dilation and zero-init behave as torchvision's. */
class TorchvisionLayoutTest {

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
            "resnext101_32x8d", "wide_resnet50_2"})
    void stateDictKeysOrderAndShapesMatchTorchvision(String name) throws Exception {
        List<String> want = Files.readAllLines(Path.of("src/test/resources/goldens/keys_" + name + ".txt"));
        List<String> got = new ArrayList<>();
        Models.Entry e = Models.get(name);
        for (var kv : e.createMeta(ModelConfig.defaults(1000)).stateDict().entrySet()) {
            StringBuilder s = new StringBuilder(kv.getKey()).append(' ');
            int[] shape = kv.getValue().shape();
            for (int i = 0; i < shape.length; i++) s.append(i > 0 ? "," : "").append(shape[i]);
            got.add(s.toString());
        }
        assertEquals(want, got);
    }

    /** replace_stride_with_dilation=[False, True, True]: output stride 8, against PyTorch in float64. */
    @Test
    void dilatedResnet50MatchesTorchvision() throws Exception {
        Map<String, Tensor> g = SafeTensors.read(Path.of("src/test/resources/goldens/resnet50_dilated_eval.safetensors")).tensors();
        Module net = Models.create("resnet50", ModelConfig.defaults(1000).withDilation(false, true, true));
        FormulaWeights.apply(net);
        net.eval();
        Tensor[] layer4 = new Tensor[1];
        Module l4 = net.children().get("layer4");
        Variable out;
        try (var guard = GradMode.noGrad()) {
            out = Module.withForwardHook((m, y) -> { if (m == l4) layer4[0] = y.value(); },
                    () -> net.call(Variable.constant(FormulaWeights.input(1, 3, 64, 64))));
        }
        assertTrue(layer4[0].hasShape(1, 2048, 8, 8), layer4[0].shapeString());
        Tensor mean = Tensor.zeros(1, 2048);
        for (int c = 0; c < 2048; c++) {
            double s = 0;
            for (int i = 0; i < 64; i++) s += layer4[0].data()[c * 64 + i];
            mean.data()[c] = (float) (s / 64);
        }
        Goldens.assertClose("layer4 channel means", g.get("layer4_mean"), mean, 1e-4);
        Goldens.assertClose("output", g.get("output"), out.value(), 1e-4);
    }

    @Test
    void basicBlocksRefuseDilationAsTorchvisionDoes() {
        var ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Models.create("resnet18", ModelConfig.defaults(10).withDilation(false, false, true)));
        assertTrue(ex.getMessage().contains("dilation"));
    }

    @Test
    void zeroInitResidualZeroesTheLastBnOfEachBranch() {
        Module m = Models.create("resnet50", ModelConfig.defaults(10).withZeroInitResidual(true));
        int zeroed = 0, others = 0;
        for (var e : m.namedModules().entrySet()) {
            if (!(e.getValue() instanceof BatchNorm2d bn)) continue;
            boolean zero = bn.weight.value().maxAbs() == 0f;
            if (e.getKey().endsWith(".bn3")) {
                assertTrue(zero, e.getKey());
                zeroed++;
            } else {
                assertTrue(!zero, e.getKey());
                others++;
            }
        }
        assertEquals(16, zeroed);
        assertTrue(others > 16);
        // each block starts as identity + ReLU: in eval with default running stats the
        // residual branch contributes exactly zero
        Module cifar = Models.create("resnet20", ModelConfig.defaults(10).withZeroInitResidual(true));
        cifar.eval();
        Module block = ((org.resnet4j.nn.Sequential) cifar.children().get("layer1")).get(0);
        Tensor x = Tensor.uniform(3, 0.1f, 1f, 2, 16, 8, 8);
        Tensor y;
        try (var guard = GradMode.noGrad()) {
            y = block.call(Variable.constant(x)).value();
        }
        assertEquals(0f, Tensor.maxAbsDiff(x, y));
    }

    @Test
    void kaimingInitHasTheRightScale() {
        Module m = Models.create("resnet50");
        Tensor w = m.stateDict().get("layer3.0.conv2.weight"); // [256, 256, 3, 3], fan_out = 256 * 9
        double sq = 0;
        for (float v : w.data()) sq += v * v;
        double std = Math.sqrt(sq / w.size()), want = Math.sqrt(2.0 / (256 * 9));
        assertEquals(want, std, want * 0.02);
    }
}
