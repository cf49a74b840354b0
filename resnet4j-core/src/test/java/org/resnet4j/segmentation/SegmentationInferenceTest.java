package org.resnet4j.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Inference;
import org.resnet4j.nn.Init;
import org.resnet4j.tensor.Tensor;

class SegmentationInferenceTest {
    /** Inference.runAll gives every output as forwardAll does in eval mode, call after call, with its arrays reused. */
    @Test
    void runAllEqualsTheEvalForwardOfEveryOutput() {
        Init.manualSeed(2);
        SegmentationModel m = SegmentationModels.create("deeplabv3_resnet18", 5, true);
        m.train(); // runAll switches to eval for the call and back
        Inference inference = new Inference(m);
        for (long seed = 0; seed < 3; seed++) {
            Tensor x = Tensor.uniform(seed, -1, 1, 2, 3, 41, 37);
            LinkedHashMap<String, Tensor> got = inference.runAll(x);
            m.eval();
            try (var g = GradMode.noGrad()) {
                var want = m.forwardAll(Variable.constant(x));
                assertEquals(want.keySet(), got.keySet());
                for (String k : want.keySet()) assertArrayEquals(want.get(k).value().data(), got.get(k).data(), k);
            }
            m.train();
        }
        assertEquals(true, m.isTraining(), "the model's mode is restored");
        assertThrows(IllegalArgumentException.class, () -> new Inference(Models.create("resnet8")).runAll(Tensor.zeros(1, 3, 32, 32)));
    }
}
