package org.resnet4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.resnet4j.testing.Goldens.assertClose;
import static org.resnet4j.testing.Goldens.diff;
import static org.resnet4j.testing.Goldens.l2;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.CrossEntropyLoss;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;

/**
 * Forward, loss, input gradient, parameter gradients and BN running statistics against files
 * written by PyTorch 1.13 / torchvision in float64 (tools/make_goldens.py). Errors are relative
 * to the reference tensor's largest magnitude: 1e-4 forward, 1e-3 gradients.
 */
class PyTorchParityTest {
    private static final double FORWARD_TOL = 1e-4, GRAD_TOL = 1e-3;
    /**
     * Two float32 implementations land at different points of the same error ball around the
     * float64 answer. Where the ball is wider than the spec tolerance (PyTorch's own float32 run
     * misses float64 by more than 1e-3: train-mode bottleneck nets, whose BN backward over 18
     * values per channel cancels heavily), the check is "within 10x PyTorch's float32 error":
     * loose enough for rounding, still far below the O(1) error of a wrong formula.
     * See docs/DECISIONS.md.
     */
    private static final double TORCH_ERR_FACTOR = 10;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "resnet18, eval, resnet18", "resnet18, train, resnet18",
        "resnet50, eval, resnet50", "resnet50, train, resnet50",
        "resnext50_32x4d, eval, resnext50_32x4d", "resnext50_32x4d, train, resnext50_32x4d",
        "cifar_resnet20, eval, resnet20", "cifar_resnet20, train, resnet20"})
    void matchesPyTorch(String golden, String mode, String model) throws Exception {
        SafeTensors.Contents file = SafeTensors.read(Path.of("src/test/resources/goldens", golden + "_" + mode + ".safetensors"));
        Map<String, Tensor> g = file.tensors();
        // Where PyTorch's own float32 run is far from float64 (train-mode BN backward over few
        // values per channel cancels heavily), allow TORCH_ERR_FACTOR x PyTorch's float32 error, never less
        // than the spec tolerance.
        double fwdTol = tolerance(file, "output", FORWARD_TOL);
        double inputGradTol = tolerance(file, "input_grad", GRAD_TOL);
        double normTol = tolerance(file, "gradnorm", GRAD_TOL);
        Module net = Models.create(model);
        FormulaWeights.apply(net);
        net.train(mode.equals("train"));

        int[] inputShape = model.equals("resnet20") ? new int[] {2, 3, 32, 32} : new int[] {2, 3, 96, 96};
        Variable x = Variable.leaf(FormulaWeights.input(inputShape));
        Variable out = net.call(x);
        assertClose("output", g.get("output"), out.value(), fwdTol);
        double outErr = Tensor.maxAbsDiff(g.get("output"), out.value()) / g.get("output").maxAbs();

        int n = out.shape()[0], classes = out.shape()[1];
        int[] targets = new int[n];
        for (int i = 0; i < n; i++) targets[i] = (7 * i + 3) % classes;
        Variable loss = new CrossEntropyLoss().apply(out, targets);
        float want = g.get("loss").data()[0];
        assertEquals(want, loss.value().data()[0], FORWARD_TOL * Math.max(1, Math.abs(want)), "loss");

        loss.backward();
        assertClose("input grad", g.get("input_grad"), x.grad(), inputGradTol);
        double gradErr = Tensor.maxAbsDiff(g.get("input_grad"), x.grad()) / g.get("input_grad").maxAbs();
        System.out.printf("parity %s %s: output %.1e, input grad %.1e (relative to max |PyTorch|)%n", model, mode, outErr, gradErr);
        int checked = 0;
        // PyTorch's own float32 output misses float64 by > 1e-5 only in the train-mode bottleneck cases.
        boolean illConditioned = Double.parseDouble(file.metadata().get("torch_f32_err_output")) > 1e-5;
        double worstL2 = 0;
        for (var e : net.namedParameters().entrySet()) {
            Parameter p = e.getValue();
            Tensor norm = g.get("gradnorm/" + e.getKey());
            assertNotNull(norm, "golden lacks gradnorm/" + e.getKey() + " (names must match torchvision)");
            double ours = l2(p.grad());
            assertEquals(norm.data()[0], ours, normTol * Math.max(norm.data()[0], 1e-6), "grad norm of " + e.getKey());
            Tensor full = g.get("grad/" + e.getKey());
            if (full != null) {
                double torchErr = g.get("torch_f32_err/grad/" + e.getKey()).data()[0];
                if (illConditioned) {
                    // ReLU masks can flip where pre-activations sit within rounding of zero, so
                    // single entries may jump; the L2 error of the whole tensor stays meaningful.
                    double err = l2(diff(full, p.grad())) / Math.max(l2(full), 1e-12);
                    worstL2 = Math.max(worstL2, err);
                    assertTrue(err <= Math.max(10 * GRAD_TOL, TORCH_ERR_FACTOR * torchErr),
                            "grad of " + e.getKey() + ": L2 relative error " + err);
                } else {
                    assertClose("grad of " + e.getKey(), full, p.grad(), Math.max(GRAD_TOL, TORCH_ERR_FACTOR * torchErr));
                }
                checked++;
            }
        }
        assertTrue(checked > 3, "full gradients compared: " + checked);
        if (illConditioned) System.out.printf("%s %s: worst L2 relative gradient error %.2e%n", model, mode, worstL2);

        if (mode.equals("train")) {
            for (var e : net.namedModules().entrySet()) {
                if (!(e.getValue() instanceof BatchNorm2d bn)) continue;
                assertClose("running_mean of " + e.getKey(), g.get("running_mean/" + e.getKey()), bn.runningMean, FORWARD_TOL);
                assertClose("running_var of " + e.getKey(), g.get("running_var/" + e.getKey()), bn.runningVar, FORWARD_TOL);
                assertEquals(1f, bn.numBatchesTracked.data()[0]);
            }
        }
    }

    private static double tolerance(SafeTensors.Contents file, String what, double spec) {
        String torchErr = file.metadata().get("torch_f32_err_" + what);
        assertNotNull(torchErr, "golden lacks torch_f32_err_" + what);
        double t = Math.max(spec, TORCH_ERR_FACTOR * Double.parseDouble(torchErr));
        if (t > spec) System.out.printf("%s %s: tolerance %.1e (PyTorch float32 is %s from float64)%n",
                file.metadata().get("model"), what, t, torchErr);
        return t;
    }
}
