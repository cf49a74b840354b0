package org.resnet4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

class FeatureExtractorTest {
    @Test
    void backboneGivesC2ToC5AtStrides4To32AndTheEmbedding() {
        Module m = Models.create("resnet50", ModelConfig.defaults(10));
        m.eval();
        var feats = FeatureExtractor.backbone(m);
        Tensor x = Tensor.randn(5, 2, 3, 64, 64);
        var out = feats.apply(Variable.constant(x));
        assertEquals(List.of("layer1", "layer2", "layer3", "layer4", "avgpool"), List.copyOf(out.keySet()));
        assertArrayEquals(new int[] {2, 256, 16, 16}, out.get("layer1").shape());
        assertArrayEquals(new int[] {2, 512, 8, 8}, out.get("layer2").shape());
        assertArrayEquals(new int[] {2, 1024, 4, 4}, out.get("layer3").shape());
        assertArrayEquals(new int[] {2, 2048, 2, 2}, out.get("layer4").shape());
        // the embedding is what the classifier sees: fc(embedding) equals the model's output
        Tensor logits;
        try (var g = GradMode.noGrad()) {
            logits = m.call(Variable.constant(x)).value();
        }
        Module fc = m.children().get("fc");
        Tensor again = fc.call(ReshapeOp.flatten(out.get("avgpool"))).value();
        assertEquals(0f, Tensor.maxAbsDiff(logits, again));
    }

    @Test
    void dilatedBackboneKeepsOutputStride8() {
        Module m = Models.create("resnet50", ModelConfig.defaults(21).withDilation(false, true, true));
        var out = FeatureExtractor.backbone(m).apply(Variable.constant(Tensor.randn(1, 1, 3, 64, 64)));
        assertArrayEquals(new int[] {1, 2048, 8, 8}, out.get("layer4").shape());
    }

    @Test
    void featuresCanBeTrainedThrough() {
        Module m = Models.create("resnet20");
        var out = new FeatureExtractor(m, List.of("layer2")).apply(Variable.constant(Tensor.randn(2, 2, 3, 32, 32)));
        Variable l2 = out.get("layer2");
        // d(sum of layer2)/d(conv1.weight) exists and layer3/fc get nothing
        l2.backward(Tensor.full(1f, l2.shape()));
        assertTrue(m.namedParameters().get("conv1.weight").grad() != null);
        assertEquals(null, m.namedParameters().get("fc.weight").grad());
    }

    @Test
    void unknownNamesAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> new FeatureExtractor(Models.create("resnet20"), List.of("layer4")));
        assertTrue(e.getMessage().contains("layer4"));
    }
}
