package org.resnet4j.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

class NoBnCifarNetTest {
    @ParameterizedTest(name = "depth {0}, plain {1}")
    @CsvSource({"20, true", "20, false", "56, true", "56, false"})
    void buildsAndStartsWithFiniteWellScaledSignals(int depth, boolean plain) {
        Init.manualSeed(11);
        Module net = NoBnCifarNet.create(depth, plain, 3, 10);
        assertTrue(net.namedParameters().keySet().stream().noneMatch(k -> k.contains("bn")));

        GradientProbe.Result r = GradientProbe.probe(net, Tensor.randn(21, 4, 3, 32, 32), new int[] {0, 3, 7, 9}, 0.1);
        assertEquals(depth, r.layers().size(), "6n+2 weight layers");
        assertTrue(Double.isFinite(r.loss()), "loss " + r.loss());
        GradientProbe.ActivationStats logits = r.activations().get(r.activations().size() - 1);
        assertEquals("fc", logits.name());
        assertTrue(Double.isFinite(logits.mean()) && Double.isFinite(logits.std()), logits.toString());
        for (GradientProbe.LayerStats l : r.layers()) {
            assertTrue(l.gradNorm() > 0 && Double.isFinite(l.gradNorm()), l.name() + " " + l.gradNorm());
        }
        GradientProbe.ActivationStats last = r.lastBlock();
        assertEquals("layer3." + ((depth - 2) / 6 - 1), last.name());
        assertTrue(Double.isFinite(last.std()) && last.std() > 0, last.toString());
        // plain nets keep the scale by the Kaiming init alone; residual nets need the 1/sqrt(L) branch scale
        if (!plain) assertTrue(last.std() >= 0.1 && last.std() <= 10, "residual last block std " + last.std());
    }

    @Test
    void weightLayersLineUpWithTheBatchNormNets() {
        for (String name : List.of("plain20", "resnet20")) {
            Module bn = Models.get(name).createMeta(ModelConfig.defaults(10));
            Module noBn = Module.buildMeta(() -> NoBnCifarNet.create(20, name.startsWith("plain"), 3, 10));
            assertEquals(weightLayers(bn), weightLayers(noBn), name);
        }
    }

    private static List<String> weightLayers(Module m) {
        return m.namedModules().entrySet().stream().filter(e -> e.getValue() instanceof Conv2d || e.getValue() instanceof Linear)
                .map(e -> e.getKey()).toList();
    }

    @Test
    void residualBranchIsScaledAndPlainIsNot() {
        Init.manualSeed(2);
        Module res = NoBnCifarNet.create(20, false, 3, 10);
        Init.manualSeed(2);
        Module plain = NoBnCifarNet.create(20, true, 3, 10);
        // same draws, so the ratio of the second convs' norms is exactly the branch scale 1/sqrt(9)
        double r = GradientProbe.l2(res.namedParameters().get("layer2.1.conv2.weight").value())
                / GradientProbe.l2(plain.namedParameters().get("layer2.1.conv2.weight").value());
        assertEquals(1 / 3.0, r, 1e-6);
        assertEquals(0f, res.namedParameters().get("layer1.0.conv1.bias").value().maxAbs());
        assertFalse(res.namedParameters().containsKey("layer2.0.shortcut.weight"));
        assertThrows(IllegalArgumentException.class, () -> NoBnCifarNet.create(21, false, 3, 10));
    }
}
