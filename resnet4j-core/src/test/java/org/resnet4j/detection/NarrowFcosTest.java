package org.resnet4j.detection;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.detection.ops.Boxes;
import org.resnet4j.models.ResNet;
import org.resnet4j.nn.GroupNorm;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.GradClip;
import org.resnet4j.train.ParamGroups;
import org.resnet4j.train.SGD;

/**
 * fcos_resnet18w32_fpn, the small-image preset: its layout and parameter count (worked out
 * here from the layers, there being no torchvision model to compare with), its output shapes at
 * 128 pixels, and that SGD on two images moves its boxes onto the targets.
 */
class NarrowFcosTest {
    private static final String NAME = "fcos_resnet18w32_fpn";

    /** Parameters of a k x k conv, its bias optional. */
    private static long conv(int in, int out, int k, boolean bias) {
        return (long) in * out * k * k + (bias ? out : 0);
    }

    /**
     * The count from the layout: a ResNet-18 trunk at widths 32..256 without avgpool and fc (its
     * batch norms' weight and bias, {@code bnParams}, counted only when trainable), a 64-channel
     * pyramid (1x1 laterals and 3x3 outputs with bias, P6 and P7 3x3) and the head (2 towers of 4
     * 3x3 convs with bias and GroupNorm, cls_logits to K, bbox_reg to 4, bbox_ctrness to 1).
     */
    private static long expectedCount(int classes, boolean bnTrainable) {
        int w = 32, f = 64;
        long trunk = conv(3, w, 7, false), bn = w;
        int in = w;
        for (int s = 0; s < 4; s++) {
            int out = w << s;
            for (int b = 0; b < 2; b++) {
                int from = b == 0 ? in : out;
                trunk += conv(from, out, 3, false) + conv(out, out, 3, false);
                bn += 2L * out;
                if (b == 0 && from != out) {
                    trunk += conv(from, out, 1, false); // the downsample's 1x1 conv and its BN
                    bn += out;
                }
            }
            in = out;
        }
        long fpn = conv(2 * w, f, 1, true) + conv(4 * w, f, 1, true) + conv(8 * w, f, 1, true) + 3 * conv(f, f, 3, true)
                + 2 * conv(f, f, 3, true);
        long head = 2 * 4 * (conv(f, f, 3, true) + 2L * f) + conv(f, classes, 3, true) + conv(f, 4, 3, true) + conv(f, 1, 3, true);
        return trunk + (bnTrainable ? 2 * bn : 0) + fpn + head;
    }

    @Test
    void parameterCountFollowsFromTheLayout() {
        assertEquals(3_315_179L, expectedCount(6, true), "the worked count itself, for the six scene classes");
        Fcos scratch = Module.buildMeta(() -> Fcos.create(NAME, 6, false));
        assertEquals(expectedCount(6, true), scratch.parameterCount());
        assertEquals(scratch.parameterCount(), scratch.trainableParameterCount(), "from scratch everything trains");
        Fcos frozen = Module.buildMeta(() -> Fcos.create(NAME, 91, true));
        assertEquals(expectedCount(91, false), frozen.parameterCount(), "FrozenBatchNorm2d's weight and bias are buffers, as torchvision's");
        assertEquals(3_359_424L, frozen.parameterCount());
        assertEquals(frozen.parameterCount() - conv(3, 32, 7, false) - 4 * conv(32, 32, 3, false), frozen.trainableParameterCount(),
                "with weights given conv1 and layer1 are frozen, as torchvision's trainable_backbone_layers 3");
        assertTrue(Fcos.PRESETS.contains(NAME));
    }

    @Test
    void layoutAndShapesAt128Pixels() {
        Init.manualSeed(5);
        Fcos m = Fcos.create(NAME, 6, false);
        assertEquals(128, m.options().minSize());
        assertEquals(171, m.options().maxSize());
        int[] hw = m.transform().resizedSize(128, 128);
        assertArrayEquals(new int[] {128, 128}, hw, "a 128-pixel scene is not resized");
        for (var e : m.head.namedModules().entrySet()) {
            if (e.getValue() instanceof GroupNorm g) assertEquals(8, g.groups, e.getKey() + ": 8 channels a group, as torchvision's 256 / 32");
        }
        assertArrayEquals(new int[] {32, 3, 7, 7}, m.stateDict().get("backbone.body.conv1.weight").shape());
        assertArrayEquals(new int[] {256, 256, 3, 3}, m.stateDict().get("backbone.body.layer4.1.conv2.weight").shape());
        assertArrayEquals(new int[] {64, 128, 1, 1}, m.stateDict().get("backbone.fpn.inner_blocks.1.0.weight").shape());
        assertArrayEquals(new int[] {6, 64, 3, 3}, m.stateDict().get("head.classification_head.cls_logits.weight").shape());
        Tensor batch = Tensor.zeros(2, 3, 128, 128);
        LinkedHashMap<String, Variable> levels = m.backbone.forwardAll(Variable.constant(batch));
        assertEquals(List.of("0", "1", "2", "p6", "p7"), List.copyOf(levels.keySet()));
        int side = 16; // P3 at stride 8, halving to P7's single cell
        for (Variable v : levels.values()) {
            assertArrayEquals(new int[] {2, 64, side, side}, v.shape());
            side /= 2;
        }
        LinkedHashMap<String, Variable> out = m.forwardAll(Variable.constant(batch));
        int anchors = 16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1;
        assertArrayEquals(new int[] {2, anchors, 6}, out.get("cls_logits").shape());
        assertArrayEquals(new int[] {2, anchors, 4}, out.get("bbox_regression").shape());
        assertArrayEquals(new int[] {2, anchors, 1}, out.get("bbox_ctrness").shape());
        var c = org.resnet4j.models.ModelConfig.defaults(10);
        Module wide = Module.buildMeta(() -> ResNet.narrow(ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, 64, c));
        Module resnet18 = Module.buildMeta(() -> new ResNet(ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, 1, 64, c));
        assertEquals(List.copyOf(resnet18.stateDict().keySet()), List.copyOf(wide.stateDict().keySet()), "width 64 is torchvision's resnet18");
        assertEquals(resnet18.parameterCount(), wide.parameterCount(), "width 64 is torchvision's resnet18");
    }

    /** An image of a flat square on a striped background. */
    private static Tensor image(float[] box, float[] colour) {
        Tensor t = Tensor.zeros(3, 64, 64);
        float[] d = t.data();
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 64; y++) {
                for (int x = 0; x < 64; x++) {
                    boolean in = x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
                    d[(c * 64 + y) * 64 + x] = in ? colour[c] : 0.3f + 0.1f * ((x / 4 + y / 4 + c) % 3);
                }
            }
        }
        return t;
    }

    /**
     * Two 64-pixel images, one square each: 40 SGD steps (the FCOS recipe's optimizer, with a
     * warm-up and gradient clipping) bring the GIoU loss down from about 1 (the boxes start as
     * slivers at their points) and put the top detection on each square, with its class.
     */
    @Test
    void sgdMovesTheBoxesOntoTheTargets() {
        Init.manualSeed(11);
        Fcos m = Fcos.create(NAME, 2, false);
        m.setOptions(m.options().withSizes(64, 64).withScoreThresh(0f));
        float[][] boxes = {{10, 20, 34, 40}, {30, 8, 58, 30}};
        int[] labels = {1, 0};
        List<Tensor> images = List.of(image(boxes[0], new float[] {0.9f, 0.1f, 0.1f}), image(boxes[1], new float[] {0.1f, 0.2f, 0.9f}));
        List<DetectionTarget> targets = List.of(new DetectionTarget(Tensor.of(boxes[0].clone(), 1, 4), new int[] {labels[0]}),
                new DetectionTarget(Tensor.of(boxes[1].clone(), 1, 4), new int[] {labels[1]}));
        SGD opt = new SGD(ParamGroups.of(m, false), 0.01, 0.9, 1e-4);
        m.train();
        float firstBox = 0, lastBox = 0;
        int steps = 40;
        for (int step = 0; step < steps; step++) {
            opt.setLr(0.01 * Math.min(1.0, (step + 1) / 10.0)); // linear warm-up over 10 steps
            LinkedHashMap<String, Variable> l = m.losses(images, targets);
            float box = l.get("bbox_regression").value().data()[0];
            if (step == 0) firstBox = box;
            lastBox = box;
            opt.zeroGrad();
            AddOp.apply(AddOp.apply(l.get("classification"), l.get("bbox_regression")), l.get("bbox_ctrness")).backward();
            GradClip.byNorm(m.parameters(), 10);
            opt.step();
        }
        assertTrue(firstBox > 0.9f, "GIoU loss starts near 1 (boxes of almost no size): " + firstBox);
        assertTrue(lastBox < 0.4f, "GIoU loss " + firstBox + " -> " + lastBox);
        m.eval();
        List<Detections> dets = m.detect(images);
        for (int i = 0; i < 2; i++) {
            Detections d = dets.get(i);
            assertTrue(d.scores().size() > 0, "image " + i + ": a detection");
            Tensor top = Tensor.of(java.util.Arrays.copyOf(d.boxes().data(), 4), 1, 4);
            float iou = Boxes.boxIou(top, targets.get(i).boxes()).data()[0];
            assertTrue(iou > 0.5f, "image " + i + ": top box " + java.util.Arrays.toString(top.data()) + " IoU " + iou);
            assertEquals(labels[i], d.labels()[0], "image " + i + ": the top detection's class");
        }
    }
}
