package org.resnet4j.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.resnet4j.testing.Goldens.diff;
import static org.resnet4j.testing.Goldens.l2;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;

/**
 * torchvision's reference training loss, CE(out) + 0.5 CE(aux) with ignore_index 255, against
 * the train-mode goldens of tools/make_seg_goldens.py: the loss on a mask with ignored pixels
 * (within 1e-4) and the gradients of both heads' parameters: within 1e-3 of the largest value
 * where PyTorch's own float32 gradient is within 1e-4 of float64 (all of FCN's), else by the L2
 * error of the tensor within max(1e-2, 10x PyTorch's float32 error). DeepLab's ASPP gradients are
 * such a case: its head runs train-mode BN over 50 values per channel, where a ReLU mask flips
 * with rounding, and PyTorch's float32 gradients are themselves up to 5e-2 from float64.
 */
class SegmentationLossTest {
    private static final double GRAD_TOL = 1e-3, TORCH_ERR_FACTOR = 10;

    @ParameterizedTest
    @ValueSource(strings = {"fcn_resnet50", "deeplabv3_resnet50"})
    void lossAndHeadGradientsMatchTorchvisionsReference(String model) throws Exception {
        SafeTensors.Contents file = SegmentationParityTest.golden(model, "train");
        Map<String, Tensor> g = file.tensors();
        SegmentationModel net = SegmentationParityTest.build(model, "train");
        LinkedHashMap<String, Variable> outputs = net.forwardAll(Variable.constant(FormulaWeights.input(SegmentationParityTest.INPUT)));
        Tensor target = g.get("target");
        int ignored = 0;
        for (float v : target.data()) if (v == 255f) ignored++;
        assertTrue(ignored > target.size() / 10, "the mask ignores some pixels: " + ignored);
        Variable loss = SegmentationLoss.criterion(outputs, target);
        float want = g.get("loss").data()[0];
        assertEquals(want, loss.value().data()[0], 1e-4 * Math.abs(want), "loss");
        loss.backward();
        int full = 0, norms = 0;
        double worst = 0;
        for (var e : net.namedParameters().entrySet()) {
            String k = e.getKey();
            if (!k.startsWith("classifier.") && !k.startsWith("aux_classifier.")) continue;
            Parameter p = e.getValue();
            Tensor norm = g.get("gradnorm/" + k);
            assertNotNull(norm, "golden lacks gradnorm/" + k);
            Tensor grad = g.get("grad/" + k);
            if (grad != null) {
                double torchErr = g.get("torch_f32_err/grad/" + k).data()[0];
                double err;
                if (torchErr <= 1e-4) {
                    err = Tensor.maxAbsDiff(grad, p.grad()) / grad.maxAbs();
                    assertTrue(err <= GRAD_TOL, "grad of " + k + ": relative error " + err + " > " + GRAD_TOL);
                } else {
                    // ill-conditioned: a ReLU mask that flips where a pre-activation sits within
                    // rounding of zero moves single entries; the whole tensor's L2 error stays meaningful
                    err = l2(diff(grad, p.grad())) / l2(grad);
                    double tol = Math.max(10 * GRAD_TOL, TORCH_ERR_FACTOR * torchErr);
                    assertTrue(err <= tol, "grad of " + k + ": L2 relative error " + err + " > " + tol + " (PyTorch float32: " + torchErr + ")");
                }
                worst = Math.max(worst, err);
                full++;
            }
            assertEquals(norm.data()[0], l2(p.grad()), 1e-2 * norm.data()[0], "gradient norm of " + k);
            norms++;
        }
        System.out.printf("segmentation loss %s: loss %.7f vs %.7f, worst head gradient error %.2e (max or L2, see above) over %d tensors%n",
                model, loss.value().data()[0], want, worst, full);
        assertTrue(full >= 8 && norms >= 10, full + " full gradients, " + norms + " norms");
    }

    @Test
    void withoutTheAuxHeadTheLossIsOutsAlone() {
        Variable out = Variable.leaf(Tensor.randn(1, 2, 3, 2, 2));
        Tensor target = Tensor.of(new float[] {0, 1, 255, 2, 1, 1, 0, 255}, 2, 2, 2);
        float alone = SegmentationLoss.criterion(Map.of("out", out), target).value().data()[0];
        Variable aux = Variable.leaf(Tensor.randn(2, 2, 3, 2, 2));
        var both = new LinkedHashMap<String, Variable>();
        both.put("out", out);
        both.put("aux", aux);
        float auxAlone = SegmentationLoss.criterion(Map.of("out", aux), target).value().data()[0];
        assertEquals(alone + 0.5f * auxAlone, SegmentationLoss.criterion(both, target).value().data()[0], 1e-6);
    }

    @Test
    void aClassOutsideTheModelOrAMaskOfAnotherSizeIsRefused() {
        Variable out = Variable.leaf(Tensor.zeros(1, 21, 4, 4));
        Tensor mask = Tensor.zeros(1, 4, 4);
        mask.set(21f, 0, 2, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> SegmentationLoss.criterion(Map.of("out", out), mask));
        assertTrue(e.getMessage().contains("21.0") && e.getMessage().contains("[0, 2, 3]"), e.getMessage());
        mask.set(254f, 0, 2, 3);
        e = assertThrows(IllegalArgumentException.class, () -> SegmentationLoss.criterion(Map.of("out", out), mask));
        assertTrue(e.getMessage().contains("254.0"), e.getMessage());
        mask.set(255f, 0, 2, 3);
        assertTrue(Float.isFinite(SegmentationLoss.criterion(Map.of("out", out), mask).value().data()[0]));
        e = assertThrows(IllegalArgumentException.class, () -> SegmentationLoss.criterion(Map.of("out", out), Tensor.zeros(1, 5, 4)));
        assertTrue(e.getMessage().contains("[1, 5, 4]"), e.getMessage());
    }
}
