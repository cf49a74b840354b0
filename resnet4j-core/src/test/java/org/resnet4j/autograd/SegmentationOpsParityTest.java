package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.ops.ConcatOp;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.PoolOps;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.Goldens;

/**
 * The ops segmentation needs, against PyTorch in float64 (tools/make_seg_goldens.py writes
 * seg_ops.safetensors): output and gradient of sum(y * r) for a stored r.
 */
class SegmentationOpsParityTest {
    private static Map<String, Tensor> g;
    private static final UpsampleOp.Mode BILINEAR = UpsampleOp.Mode.BILINEAR;

    @BeforeAll
    static void load() throws Exception {
        g = SafeTensors.read(Path.of("src/test/resources/goldens/seg_ops.safetensors")).tensors();
    }

    private static void check(String name, Function<Variable[], Variable> op) {
        Goldens.checkOp(g, name, op);
    }

    @Test
    void bilinearToASizeWithAlignCorners() {
        check("bilinear_size_up_ac", x -> UpsampleOp.apply(x[0], 9, 13, BILINEAR, true));
        check("bilinear_size_down_ac", x -> UpsampleOp.apply(x[0], 3, 4, BILINEAR, true));
        check("bilinear_size_one_ac", x -> UpsampleOp.apply(x[0], 1, 6, BILINEAR, true));
        check("bilinear_size_odd", x -> UpsampleOp.apply(x[0], 33, 31, BILINEAR, false));
    }

    @Test
    void interpolateByAScaleFactor() {
        check("bilinear_scale_1.5", x -> UpsampleOp.applyScale(x[0], 1.5, 1.5, BILINEAR, false));
        check("bilinear_scale_0.6x2.3", x -> UpsampleOp.applyScale(x[0], 0.6, 2.3, BILINEAR, false));
        check("bilinear_scale_1.5_ac", x -> UpsampleOp.applyScale(x[0], 1.5, 1.5, BILINEAR, true));
        check("nearest_scale_1.7", x -> UpsampleOp.applyScale(x[0], 1.7, 1.7, UpsampleOp.Mode.NEAREST, false));
    }

    @Test
    void interpolateRefusesWhatPyTorchRefuses() {
        Variable x = Variable.leaf(Tensor.zeros(1, 1, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> UpsampleOp.apply(x, 8, 8, UpsampleOp.Mode.NEAREST, true));
        var e = assertThrows(IllegalArgumentException.class, () -> UpsampleOp.applyScale(x, 0.1, 1, BILINEAR, false));
        assertTrue(e.getMessage().contains("0x4"), e.getMessage());
    }

    @Test
    void globalPoolThenUpsampleIsAsppsPoolingBranch() {
        check("gap_upsample", x -> UpsampleOp.apply(PoolOps.adaptiveAvgPool(x[0], 1, 1), 5, 7, BILINEAR, false));
    }

    @Test
    void channelConcat() {
        check("cat_dim1", x -> ConcatOp.apply(1, x[0], x[1], x[2]));
    }

    @Test
    void crossEntropyOverPixelsWithIgnoredOnes() {
        Tensor target = g.get("ce_ignore/target");
        check("ce_ignore", x -> LossOps.crossEntropyDense(x[0], target, 255, 1f));
    }

    @Test
    void badMasksAreRefusedByValueAndShape() {
        Variable logits = Variable.leaf(Tensor.zeros(1, 3, 2, 2));
        Tensor bad = Tensor.of(new float[] {0, 1, 3, 255}, 1, 2, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> LossOps.crossEntropyDense(logits, bad, 255, 1f));
        assertTrue(e.getMessage().contains("3.0") && e.getMessage().contains("[0, 1, 0]"), e.getMessage());
        Tensor wrong = Tensor.zeros(1, 2, 3);
        e = assertThrows(IllegalArgumentException.class, () -> LossOps.crossEntropyDense(logits, wrong, 255, 1f));
        assertTrue(e.getMessage().contains("[1, 2, 3]"), e.getMessage());
        Tensor allIgnored = Tensor.full(255f, 1, 2, 2);
        assertTrue(Float.isNaN(LossOps.crossEntropyDense(logits, allIgnored, 255, 1f).value().data()[0]), "0/0 as PyTorch");
    }
}
