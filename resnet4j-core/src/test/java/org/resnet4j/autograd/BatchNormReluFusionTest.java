package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.autograd.ops.BatchNormOp;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.ReluOp;
import org.resnet4j.tensor.Tensor;

/** relu(batch_norm(x)) and relu(a + b) fused into one op each give the same values and gradients as the two ops. */
class BatchNormReluFusionTest {
    private record Run(float[] y, float[] dx, float[] dgamma, float[] dbeta, float[] runningMean, float[] runningVar) {}

    private static Run run(boolean training, boolean fused) {
        Variable x = Variable.leaf(Tensor.randn(3, 4, 5, 6, 7));
        Variable gamma = Variable.leaf(Tensor.uniform(4, 0.5f, 1.5f, 5));
        Variable beta = Variable.leaf(Tensor.randn(5, 5));
        Tensor rm = Tensor.randn(6, 5), rv = Tensor.uniform(7, 0.5f, 2f, 5);
        Variable y = fused ? BatchNormOp.apply(x, gamma, beta, rm, rv, training, 0.1f, 1e-5f, true)
                : ReluOp.apply(BatchNormOp.apply(x, gamma, beta, rm, rv, training, 0.1f, 1e-5f));
        // a loss whose gradient differs per element, so the mask and the BN sums both matter
        LossOps.mse(y, Variable.constant(Tensor.randn(8, y.shape()))).backward();
        return new Run(y.value().data().clone(), x.grad().data(), gamma.grad().data(), beta.grad().data(), rm.data(), rv.data());
    }

    @ParameterizedTest(name = "training={0}")
    @ValueSource(booleans = {true, false})
    void sameValuesAndGradientsAsTheTwoOps(boolean training) {
        Run a = run(training, false), b = run(training, true);
        assertArrayEquals(a.y(), b.y(), "output");
        int zeros = 0;
        for (float v : b.y()) if (v == 0f) zeros++;
        assertTrue(zeros > 0 && zeros < b.y().length, "the ReLU clamps some outputs and not others");
        assertArrayEquals(a.dx(), b.dx(), "dx");
        assertArrayEquals(a.dgamma(), b.dgamma(), "dgamma");
        assertArrayEquals(a.dbeta(), b.dbeta(), "dbeta");
        assertArrayEquals(a.runningMean(), b.runningMean(), "running mean");
        assertArrayEquals(a.runningVar(), b.runningVar(), "running var");
    }

    /** ResNet-20 in training takes the fused path for the stem and each block's first BN; a hook turns it off. */
    @org.junit.jupiter.api.Test
    void resnet20TrainsThroughTheFusedOpUnlessAHookWatches() {
        var m = org.resnet4j.models.Models.create("resnet20", org.resnet4j.models.ModelConfig.defaults(10));
        m.train();
        Variable x = Variable.constant(Tensor.randn(1, 2, 3, 16, 16));
        OpProfile.start();
        m.call(x);
        var calls = new java.util.HashMap<String, Long>();
        for (OpProfile.Row r : OpProfile.stop()) calls.put(r.op(), r.calls());
        org.junit.jupiter.api.Assertions.assertEquals(10L, calls.get("BatchNormOp+ReLU fwd"), calls.toString()); // stem + 9 blocks
        org.junit.jupiter.api.Assertions.assertEquals(9L, calls.get("BatchNormOp fwd"), calls.toString());       // each block's bn2
        org.junit.jupiter.api.Assertions.assertEquals(9L, calls.get("AddOp+ReLU fwd"), calls.toString());        // each block's end
        org.junit.jupiter.api.Assertions.assertNull(calls.get("ReluOp fwd"), calls.toString());
        OpProfile.start();
        org.resnet4j.nn.Module.withForwardHook((mod, v) -> {}, () -> m.call(x));
        var hooked = new java.util.HashMap<String, Long>();
        for (OpProfile.Row r : OpProfile.stop()) hooked.put(r.op(), r.calls());
        org.junit.jupiter.api.Assertions.assertNull(hooked.get("BatchNormOp+ReLU fwd"), "a hook sees every module: unfused");
        org.junit.jupiter.api.Assertions.assertNull(hooked.get("AddOp+ReLU fwd"));
        org.junit.jupiter.api.Assertions.assertEquals(19L, hooked.get("ReluOp fwd"));
    }

    /** relu(a + b): values and both inputs' gradients as AddOp then ReluOp, also for a + a. */
    @org.junit.jupiter.api.Test
    void addReluSameAsTheTwoOps() {
        for (boolean same : new boolean[] {false, true}) {
            float[][] got = new float[2][], ga = new float[2][], gb = new float[2][];
            for (int k = 0; k < 2; k++) {
                Variable a = Variable.leaf(Tensor.randn(11, 2, 3, 4, 5));
                Variable b = same ? a : Variable.leaf(Tensor.randn(12, 2, 3, 4, 5));
                Variable y = k == 1 ? org.resnet4j.autograd.ops.AddOp.apply(a, b, true) : ReluOp.apply(org.resnet4j.autograd.ops.AddOp.apply(a, b));
                LossOps.mse(y, Variable.constant(Tensor.randn(13, y.shape()))).backward();
                got[k] = y.value().data().clone();
                ga[k] = a.grad().data();
                gb[k] = b.grad().data();
            }
            assertArrayEquals(got[0], got[1], "output, same=" + same);
            assertArrayEquals(ga[0], ga[1], "da, same=" + same);
            assertArrayEquals(gb[0], gb[1], "db, same=" + same);
        }
    }

    /**
     * A residual block's end is written over batch norm's output (torchvision's in-place add),
     * with the gradients of the out-of-place op; never over an output its maker's backward reads.
     */
    @org.junit.jupiter.api.Test
    void addReluWritesOverBatchNormsOutputOnlyWhenAutogradAllows() {
        float[][] da = new float[2][], dx = new float[2][];
        for (int k = 0; k < 2; k++) {
            Variable x = Variable.leaf(Tensor.randn(21, 2, 3, 4, 5));
            Variable gamma = Variable.leaf(Tensor.uniform(22, 0.5f, 1.5f, 3)), beta = Variable.leaf(Tensor.randn(23, 3));
            Variable bn = BatchNormOp.apply(x, gamma, beta, Tensor.zeros(3), Tensor.full(1f, 3), true, 0.1f, 1e-5f);
            Variable b = Variable.leaf(Tensor.randn(24, 2, 3, 4, 5));
            Variable y = org.resnet4j.autograd.ops.AddOp.apply(bn, b, true, k == 1);
            org.junit.jupiter.api.Assertions.assertEquals(k == 1, y.value().data() == bn.value().data(), "in place: " + (k == 1));
            LossOps.mse(y, Variable.constant(Tensor.randn(25, y.shape()))).backward();
            da[k] = b.grad().data();
            dx[k] = x.grad().data();
        }
        assertArrayEquals(da[0], da[1], "db");
        assertArrayEquals(dx[0], dx[1], "dx through batch norm");

        Variable a = Variable.leaf(Tensor.randn(26, 2, 3, 4, 5));
        Variable r = ReluOp.apply(a); // ReLU's backward reads its output: not overwritten
        Variable y = org.resnet4j.autograd.ops.AddOp.apply(r, a, true, true);
        assertTrue(y.value().data() != r.value().data(), "an output its maker's backward reads is kept");
        Variable leaf = Variable.leaf(Tensor.randn(27, 2, 3));
        assertTrue(org.resnet4j.autograd.ops.AddOp.apply(leaf, leaf, true, true).value().data() != leaf.value().data(),
                "a leaf is never overwritten");

        var m = org.resnet4j.models.Models.create("resnet50", org.resnet4j.models.ModelConfig.defaults(10));
        m.train();
        var block = (org.resnet4j.models.Bottleneck) m.namedModules().get("layer1.0");
        Variable out = block.call(Variable.constant(Tensor.randn(28, 2, 64, 8, 8)));
        Variable bn3 = out.gradFn().inputs()[0];
        assertTrue(out.value().data() == bn3.value().data(), "a bottleneck in training ends in place over bn3's output");
    }
}
