package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.ops.BatchNormOp;
import org.resnet4j.autograd.ops.Conv2dOp;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.PoolOps;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.Goldens;

/** Single ops against PyTorch (tools/make_goldens.py, float64): output and gradient of sum(y * r). */
class OpsParityTest {
    private static Map<String, Tensor> g;

    @BeforeAll
    static void load() throws Exception {
        g = SafeTensors.read(Path.of("src/test/resources/goldens/ops.safetensors")).tensors();
    }

    private static void check(String name, Function<Variable[], Variable> op) {
        Goldens.checkOp(g, name, op);
    }

    @Test
    void interpolate() {
        check("nearest_up", x -> UpsampleOp.apply(x[0], 8, 11, UpsampleOp.Mode.NEAREST));
        check("nearest_down", x -> UpsampleOp.apply(x[0], 3, 4, UpsampleOp.Mode.NEAREST));
        check("bilinear_up", x -> UpsampleOp.apply(x[0], 8, 11, UpsampleOp.Mode.BILINEAR));
        check("bilinear_down", x -> UpsampleOp.apply(x[0], 3, 4, UpsampleOp.Mode.BILINEAR));
    }

    @Test
    void pooling() {
        check("maxpool_3_2_1", x -> PoolOps.maxPool(x[0], 3, 2, 1, 1, false));
        check("maxpool_3_2_0_ceil", x -> PoolOps.maxPool(x[0], 3, 2, 0, 1, true));
        check("maxpool_2_2_0_dil2", x -> PoolOps.maxPool(x[0], 2, 2, 0, 2, false));
        check("avgpool_3_2_1", x -> PoolOps.avgPool(x[0], 3, 2, 1));
        check("adaptive_3x2", x -> PoolOps.adaptiveAvgPool(x[0], 3, 2));
        check("adaptive_4x5", x -> PoolOps.adaptiveAvgPool(x[0], 4, 5));
    }

    @Test
    void groupedDilatedStridedConv() {
        check("conv_s2_p2_d2_g2", x -> Conv2dOp.apply(x[0], x[1], x[2], Conv2dOp.Params.of(2, 2, 2, 2)));
    }

    @Test
    void batchNormTraining() {
        check("batchnorm_train", x -> BatchNormOp.apply(x[0], x[1], x[2], Tensor.zeros(4), Tensor.full(1f, 4), true, 0.1f, 1e-5f));
    }

    @Test
    void losses() {
        float[] t = g.get("targets").data();
        int[] targets = new int[t.length];
        for (int i = 0; i < t.length; i++) targets[i] = (int) t[i];
        check("cross_entropy", x -> LossOps.crossEntropy(x[0], targets, 0f));
        check("cross_entropy_ls", x -> LossOps.crossEntropy(x[0], targets, 0.1f));
        check("mse", x -> LossOps.mse(x[0], x[1]));
        assertEquals(0, g.get("cross_entropy/out").rank());
    }
}
