package org.resnet4j.detection.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.GroupNormOp;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.GroupNorm;
import org.resnet4j.tensor.Tensor;

/**
 * The detection ops against torchvision 0.14 (tools/make_detection_goldens.py): GroupNorm and
 * nearest interpolation at the FPN's sizes, box_iou, nms and batched_nms with equal scores,
 * remove_small_boxes, clip_boxes_to_image, and the GIoU and focal losses with their gradients
 * (float64 reference, gradient of sum(y * r) for a stored random r).
 */
class DetectionOpsTest {
    private static final double TOL = 1e-5;
    private static Map<String, Tensor> g;

    @BeforeAll
    static void load() throws Exception {
        g = SafeTensors.read(Path.of("src/test/resources/goldens/detection_ops.safetensors")).tensors();
    }

    private static Tensor golden(String key) {
        Tensor t = g.get(key);
        assertNotNull(t, "golden lacks " + key);
        return t;
    }

    /** Runs op on the stored inputs (leaves), compares the output and each input's gradient of sum(y * r). */
    private static void check(String name, Function<Variable[], Variable> op) {
        int n = 0;
        while (g.containsKey(name + "/in" + n)) n++;
        assertTrue(n > 0, "no golden for " + name);
        Variable[] xs = new Variable[n];
        for (int i = 0; i < n; i++) xs[i] = Variable.leaf(golden(name + "/in" + i).copy());
        Variable y = op.apply(xs);
        assertClose(name + " output", golden(name + "/out"), y.value());
        y.backward(golden(name + "/r").reshape(y.shape()));
        for (int i = 0; i < n; i++) assertClose(name + " gradient of input " + i, golden(name + "/grad" + i), xs[i].grad());
    }

    /** Largest difference relative to the golden's largest magnitude; NaN must meet NaN. */
    static void assertClose(String what, Tensor want, Tensor got) {
        assertNotNull(got, what + ": no value");
        assertArrayEquals(want.shape(), got.shape(), what + ": shape " + got.shapeString() + " vs " + want.shapeString());
        float[] a = want.data(), b = got.data();
        double scale = 1e-6, err = 0;
        for (float v : a) if (!Float.isNaN(v)) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.isNaN(a[i]), Float.isNaN(b[i]), what + ": NaN at " + i + " (want " + a[i] + ", got " + b[i] + ")");
            if (!Float.isNaN(a[i])) err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        assertTrue(err / scale <= TOL, what + ": relative error " + err / scale);
    }

    private static int[] indices(String key) {
        float[] d = golden(key).data();
        int[] out = new int[d.length];
        for (int i = 0; i < d.length; i++) out[i] = (int) d[i];
        return out;
    }

    @Test
    void groupNormMatchesTorch() {
        check("groupnorm_3of6", x -> GroupNormOp.apply(x[0], 3, x[1], x[2], 1e-5f));
        check("groupnorm_32of64", x -> GroupNormOp.apply(x[0], 32, x[1], x[2], 1e-5f));
        check("groupnorm_1of4_nc", x -> GroupNormOp.apply(x[0], 1, x[1], x[2], 1e-5f));
        // the module: torch's state_dict names, loaded from the golden's affine parameters
        GroupNorm gn = new GroupNorm(3, 6);
        assertEquals(6.0, gn.weight.value().sum(), "weight starts at ones");
        assertEquals(0f, gn.bias.value().maxAbs(), "bias starts at zeros");
        assertEquals(java.util.List.of("weight", "bias"), java.util.List.copyOf(gn.stateDict().keySet()));
        gn.loadStateDict(Map.of("weight", golden("groupnorm_3of6/in1"), "bias", golden("groupnorm_3of6/in2")), true);
        Variable x = Variable.leaf(golden("groupnorm_3of6/in0").copy());
        Variable y = gn.call(x);
        assertClose("nn.GroupNorm output", golden("groupnorm_3of6/out"), y.value());
        y.backward(golden("groupnorm_3of6/r"));
        assertClose("nn.GroupNorm weight gradient", golden("groupnorm_3of6/grad1"), gn.weight.grad());
        assertClose("nn.GroupNorm input gradient", golden("groupnorm_3of6/grad0"), x.grad());
    }

    @Test
    void groupNormRefusesGroupsThatDoNotDivideTheChannels() {
        var e = assertThrows(IllegalArgumentException.class, () -> new GroupNorm(4, 6));
        assertTrue(e.getMessage().contains("6") && e.getMessage().contains("4"), e.getMessage());
        var x = Variable.constant(Tensor.zeros(2, 6, 3, 3));
        e = assertThrows(IllegalArgumentException.class, () -> GroupNormOp.apply(x, 4, null, null, 1e-5f));
        assertTrue(e.getMessage().contains("[2, 6, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GroupNormOp.apply(x, 3, Variable.constant(Tensor.zeros(5)), null, 1e-5f));
        assertTrue(e.getMessage().contains("weight"), e.getMessage());
    }

    @Test
    void nearestInterpolationAtTheFeaturePyramidsSizes() {
        for (String c : new String[] {"nearest_4x5_to_7x9", "nearest_7x9_to_13x17", "nearest_5x7_to_10x14", "nearest_3x2_to_7x82"}) {
            int[] out = golden(c + "/out").shape();
            check(c, x -> UpsampleOp.apply(x[0], out[2], out[3], UpsampleOp.Mode.NEAREST));
        }
    }

    @Test
    void boxIouMatchesTorchIncludingZeroAreaBoxes() {
        Tensor got = Boxes.boxIou(golden("box_iou/in0"), golden("box_iou/in1"));
        assertClose("box_iou", golden("box_iou/out"), got);
        boolean nan = false;
        for (float v : golden("box_iou/out").data()) nan |= Float.isNaN(v);
        assertTrue(nan, "the golden pairs zero-area boxes (0/0)");
    }

    @Test
    void nmsKeepsWhatTorchvisionKeepsWithEqualScores() {
        Tensor boxes = golden("nms/boxes"), scores = golden("nms/scores");
        int[] classes = indices("nms/classes");
        int tiesKept = 0;
        for (String t : new String[] {"0.3", "0.5", "0.7"}) {
            double thr = Double.parseDouble(t);
            int[] want = indices("nms/keep_" + t);
            assertArrayEquals(want, Boxes.nms(boxes, scores, thr), "nms at " + t);
            assertArrayEquals(indices("nms/batched_keep_" + t), Boxes.batchedNms(boxes, scores, classes, thr), "batched_nms at " + t);
            for (int i = 1; i < want.length; i++) if (scores.data()[want[i]] == scores.data()[want[i - 1]]) tiesKept++;
        }
        assertTrue(tiesKept > 10, "the golden exercises equal scores: " + tiesKept + " adjacent kept pairs tie");
        // identical boxes with equal scores: the lower index is kept (stable order)
        Tensor two = Tensor.of(new float[] {0, 0, 10, 10, 0, 0, 10, 10, 1, 1, 11, 11}, 3, 4);
        assertArrayEquals(new int[] {0}, Boxes.nms(two, Tensor.of(new float[] {0.5f, 0.5f, 0.5f}, 3), 0.5));
    }

    @Test
    void nanScoresComeFirstAndSignedZerosTie() {
        Tensor boxes = golden("nms_nan/boxes"), scores = golden("nms_nan/scores");
        assertTrue(Float.isNaN(scores.data()[1]) && Float.floatToRawIntBits(scores.data()[3]) != 0, "the golden has NaN and -0.0");
        assertArrayEquals(indices("nms_nan/keep_0.5"), Boxes.nms(boxes, scores, 0.5));
        assertArrayEquals(indices("nms_nan/batched_keep_0.5"), Boxes.batchedNms(boxes, scores, indices("nms_nan/classes"), 0.5));
    }

    @Test
    void batchedNmsAboveFourThousandNumbersRunsPerCategory() {
        Tensor boxes = golden("nms_big/boxes"), scores = golden("nms_big/scores");
        assertTrue(boxes.size() > Boxes.BATCHED_NMS_PER_CLASS_ABOVE);
        assertArrayEquals(indices("nms_big/keep_0.5"), Boxes.nms(boxes, scores, 0.5));
        assertArrayEquals(indices("nms_big/batched_keep_0.5"), Boxes.batchedNms(boxes, scores, indices("nms_big/classes"), 0.5));
    }

    @Test
    void removeSmallBoxesAndClip() {
        Tensor boxes = golden("small/boxes");
        assertArrayEquals(indices("small/keep_1"), Boxes.removeSmallBoxes(boxes, 1f));
        assertClose("clip_boxes_to_image", golden("clip/out_30x25"), Boxes.clipBoxesToImage(boxes, 30, 25));
    }

    @Test
    void boxOpsNameTheShapeAtFault() {
        Tensor bad = Tensor.zeros(5, 3), boxes = Tensor.zeros(5, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> Boxes.nms(bad, Tensor.zeros(5), 0.5));
        assertTrue(e.getMessage().contains("[N, 4]") && e.getMessage().contains("[5, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Boxes.nms(boxes, Tensor.zeros(4), 0.5));
        assertTrue(e.getMessage().contains("[5]") && e.getMessage().contains("[4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Boxes.batchedNms(boxes, Tensor.zeros(5), new int[3], 0.5));
        assertTrue(e.getMessage().contains("3 category indices for 5 boxes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Boxes.boxIou(boxes, bad));
        assertTrue(e.getMessage().contains("boxes2"), e.getMessage());
        assertEquals(0, Boxes.batchedNms(Tensor.zeros(0, 4), Tensor.zeros(0), new int[0], 0.5).length);
    }

    @Test
    void generalizedBoxIouLossAndItsGradients() {
        check("giou_none", x -> GeneralizedBoxIouLoss.apply(x[0], x[1], Reduction.NONE));
        check("giou_mean", x -> GeneralizedBoxIouLoss.apply(x[0], x[1], Reduction.MEAN));
        check("giou_sum", x -> GeneralizedBoxIouLoss.apply(x[0], x[1], Reduction.SUM));
        Variable a = Variable.leaf(Tensor.zeros(3, 4)), b = Variable.leaf(Tensor.zeros(4, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> GeneralizedBoxIouLoss.apply(a, b, Reduction.SUM));
        assertTrue(e.getMessage().contains("[4, 4]") && e.getMessage().contains("[3, 4]"), e.getMessage());
        Variable empty = Variable.constant(Tensor.zeros(0, 4));
        assertEquals(0f, GeneralizedBoxIouLoss.apply(empty, empty, Reduction.MEAN).value().data()[0], "mean of none: 0, as torchvision");
    }

    @Test
    void sigmoidFocalLossAndItsGradients() {
        check("focal_none", x -> SigmoidFocalLoss.apply(x[0], x[1], Reduction.NONE));
        check("focal_mean", x -> SigmoidFocalLoss.apply(x[0], x[1], Reduction.MEAN));
        check("focal_sum", x -> SigmoidFocalLoss.apply(x[0], x[1], Reduction.SUM));
        check("focal_soft_sum", x -> SigmoidFocalLoss.apply(x[0], x[1], 0.25f, 2f, Reduction.SUM));
        check("focal_noalpha_g1.5_mean", x -> SigmoidFocalLoss.apply(x[0], x[1], -1f, 1.5f, Reduction.MEAN));
        check("focal_g0_none", x -> SigmoidFocalLoss.apply(x[0], x[1], 0.5f, 0f, Reduction.NONE));
        var e = assertThrows(IllegalArgumentException.class,
                () -> SigmoidFocalLoss.apply(Variable.leaf(Tensor.zeros(2, 3)), Variable.constant(Tensor.zeros(3, 2)), Reduction.SUM));
        assertTrue(e.getMessage().contains("[3, 2]") && e.getMessage().contains("[2, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Reduction.of("avg"));
        assertTrue(e.getMessage().contains("'avg'"), e.getMessage());
    }
}
