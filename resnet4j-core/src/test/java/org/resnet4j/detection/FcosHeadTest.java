package org.resnet4j.detection;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ConcatOp;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.nn.Init;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.GradCheck;

/**
 * The FCOS head's layout (torchvision's state_dict names and shapes, rows per anchor), its
 * initialization, its backward, the anchor points and BoxLinearCoder. Its values against
 * torchvision are in {@link FcosParityTest}.
 */
class FcosHeadTest {
    @Test
    void stateDictIsTorchvisions() throws Exception {
        List<String> want = Files.readAllLines(Path.of("src/test/resources/goldens/keys_fcos_head.txt"));
        List<String> got = new ArrayList<>();
        new FcosHead(256, 1, 91).stateDict().forEach((k, t) -> got.add("head." + k + " "
                + String.join(",", Arrays.stream(t.shape()).mapToObj(String::valueOf).toList())));
        assertEquals(want, got);
    }

    @Test
    void startsAsTorchvisionInitializesIt() {
        FcosHead h = new FcosHead(256, 1, 91);
        float prior = (float) -Math.log((1 - 0.01) / 0.01);
        for (float b : h.classificationHead.clsLogits.bias.value().data()) assertEquals(prior, b);
        for (var e : h.namedParameters().entrySet()) {
            Tensor t = e.getValue().value();
            String k = e.getKey();
            if (k.contains("cls_logits.bias")) continue;
            if (t.rank() == 4) { // normal(std 0.01)
                double ss = 0;
                for (float v : t.data()) ss += (double) v * v;
                double std = Math.sqrt(ss / t.size());
                assertTrue(Math.abs(std - 0.01) < 0.001, k + " std " + std);
            } else if (k.endsWith(".bias")) {
                assertEquals(0f, t.maxAbs(), k);
            } else {
                for (float v : t.data()) assertEquals(1f, v, k); // GroupNorm weight
            }
        }
    }

    @Test
    void rowsAreAnchorsInTorchvisionsOrder() {
        Init.manualSeed(3);
        FcosHead h = new FcosHead(32, 1, 3, 1);
        Variable p3 = Variable.constant(Tensor.randn(1, 2, 32, 3, 5)), p4 = Variable.constant(Tensor.randn(2, 2, 32, 2, 3));
        FcosHead.Outputs o = h.apply(List.of(p3, p4));
        assertArrayEquals(new int[] {2, 15 + 6, 3}, o.clsLogits().shape());
        assertArrayEquals(new int[] {2, 21, 4}, o.bboxRegression().shape());
        assertArrayEquals(new int[] {2, 21, 1}, o.bboxCtrness().shape());
        // row (y * W + x) of level 1, image 1, is the map's column (y, x)
        Tensor map = h.classificationHead.clsLogits.call(h.classificationHead.conv.call(p4)).value();
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++)
                for (int c = 0; c < 3; c++) assertEquals(map.get(1, c, y, x), o.clsLogits().value().get(1, 15 + y * 3 + x, c), 1e-6f);
        for (float v : o.bboxRegression().value().data()) assertTrue(v >= 0, "distances through a ReLU");
        var e = assertThrows(IllegalArgumentException.class, () -> h.apply(List.of(Variable.constant(Tensor.zeros(1, 16, 3, 3)))));
        assertTrue(e.getMessage().contains("[N, 32, H, W]") && e.getMessage().contains("[1, 16, 3, 3]"), e.getMessage());
    }

    @Test
    void headGradientsMatchFiniteDifferences() {
        Init.manualSeed(5);
        FcosHead h = new FcosHead(64, 1, 2, 1); // two channels per group: with one, GroupNorm cancels the conv's bias exactly
        for (var p : h.namedParameters().values()) { // away from the 0.01 init, so every branch carries signal
            float[] d = p.value().data();
            Tensor r = Tensor.randn(11, p.value().shape());
            for (int i = 0; i < d.length; i++) d[i] += 0.2f * r.data()[i];
        }
        Variable p3 = Variable.leaf(Tensor.randn(7, 1, 64, 3, 4)), p4 = Variable.leaf(Tensor.randn(8, 1, 64, 2, 2));
        GradCheck.of("fcos head", () -> {
            FcosHead.Outputs o = h.apply(List.of(p3, p4));
            return ConcatOp.apply(0, ReshapeOp.apply(o.clsLogits(), -1), ReshapeOp.apply(o.bboxRegression(), -1),
                    ReshapeOp.apply(o.bboxCtrness(), -1));
        }).wrt("p3", p3).wrt("p4", p4).wrtParameters(h).run();
    }

    @Test
    void aMetaModelGivesTheOutputShapesOfAnInputSize() {
        Fcos m = org.resnet4j.nn.Module.buildMeta(() -> Fcos.create("fcos_resnet50_fpn", 91, true));
        int h = 800, w = 1344; // 800x1333 padded to multiples of 32
        var out = m.forwardAll(Variable.constant(Tensor.meta(2, 3, h, w)));
        int rows = 0;
        for (int s = 8; s <= 32; s *= 2) rows += (h / s) * (w / s); // P3..P5
        int gh = (h / 32 + 1) / 2, gw = (w / 32 + 1) / 2; // P6: 3x3 stride-2 conv with padding 1
        rows += gh * gw + ((gh + 1) / 2) * ((gw + 1) / 2); // and P7 from it
        assertArrayEquals(new int[] {2, rows, 91}, out.get("cls_logits").shape());
        assertArrayEquals(new int[] {2, rows, 4}, out.get("bbox_regression").shape());
        assertArrayEquals(new int[] {2, rows, 1}, out.get("bbox_ctrness").shape());
        assertArrayEquals(new int[] {2, rows, 91}, m.forward(Variable.constant(Tensor.meta(2, 3, h, w))).shape());
    }

    @Test
    void anchorPointsSitOnTheStrideGrid() {
        AnchorGenerator g = AnchorGenerator.fcosDefault();
        // a 160x192 batch: P3..P5 at strides 8, 16, 32; P6 (3x3) and P7 (2x2) at 160 // 3 = 53 and 80 vertically
        int[][] grids = {{20, 24}, {10, 12}, {5, 6}, {3, 3}, {2, 2}};
        Tensor a = g.anchors(160, 192, grids);
        assertEquals(480 + 120 + 30 + 9 + 4, a.dim(0));
        int row = 480 + 120 + 30 + 9 + 3; // P7, y = 1, x = 1: centre (96, 80), size 128
        assertArrayEquals(new float[] {96 - 64, 80 - 64, 96 + 64, 80 + 64}, Arrays.copyOfRange(a.data(), 4 * row, 4 * row + 4));
        row = 24 + 2; // P3, y = 1, x = 2: centre (16, 8), size 8
        assertArrayEquals(new float[] {12, 4, 20, 12}, Arrays.copyOfRange(a.data(), 4 * row, 4 * row + 4));
        var e = assertThrows(IllegalArgumentException.class, () -> g.anchors(64, 64, new int[][] {{8, 8}}));
        assertTrue(e.getMessage().contains("1 feature maps"), e.getMessage());
    }

    @Test
    void boxCoderRoundTripsAndDecodesWithAGradient() {
        BoxLinearCoder coder = new BoxLinearCoder(true);
        Tensor anchors = Tensor.of(new float[] {0, 0, 8, 8, 16, 8, 48, 40, -4, -4, 4, 4}, 3, 4);
        Tensor boxes = Tensor.of(new float[] {1, 2, 9, 7, 10, 5, 60, 33, -3, -1, 0.5f, 2}, 3, 4);
        Tensor codes = coder.encode(anchors, boxes);
        assertEquals((4f - 1f) / 8f, codes.get(0, 0)); // centre x 4, x1 1, width 8
        assertTrue(Tensor.maxAbsDiff(boxes, coder.decode(codes, anchors)) < 1e-5f);
        Variable c = Variable.leaf(codes.copy());
        GradCheck.of("decode", () -> coder.decode(c, anchors)).wrt("codes", c).run();
        var e = assertThrows(IllegalArgumentException.class, () -> coder.decode(Tensor.zeros(2, 4), anchors));
        assertTrue(e.getMessage().contains("[2, 4]") && e.getMessage().contains("[3, 4]"), e.getMessage());
    }
}
