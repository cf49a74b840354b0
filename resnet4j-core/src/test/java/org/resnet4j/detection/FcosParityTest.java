package org.resnet4j.detection;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.FormulaWeights;

/**
 * torchvision 0.14's FCOS at inference against tools/make_fcos_goldens.py (float64, formula
 * weights): the transform (normalize, resize, pad), the anchors, the head's three outputs per
 * level and the detections after post-processing (two NMS thresholds; 1000 and 40 candidates per
 * level), for a batch of a 3x120x160
 * and a 3x100x90 image with min_size 128, max_size 192; and the head's keys and the model's
 * parameter counts.
 */
class FcosParityTest {
    private static final Path GOLDENS = Path.of("src/test/resources/goldens");
    private static SafeTensors.Contents eval, transform;

    @BeforeAll
    static void load() throws Exception {
        eval = SafeTensors.read(GOLDENS.resolve("fcos_eval.safetensors"));
        transform = SafeTensors.read(GOLDENS.resolve("fcos_transform.safetensors"));
    }

    /** The golden images: 0.5 + 0.5 * hash(i, 1001 + j), values in [0, 1). */
    static List<Tensor> images(Map<String, String> meta) {
        List<Tensor> out = new ArrayList<>();
        String[] shapes = meta.get("images").split(";");
        for (int j = 0; j < shapes.length; j++) {
            Tensor t = Tensor.zeros(ints(shapes[j]));
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) d[i] = (float) (0.5 + 0.5 * FormulaWeights.hash(i, 1001 + j));
            out.add(t);
        }
        return out;
    }

    static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    /** fcos_resnet50_fpn as the goldens build it (FrozenBatchNorm2d), every entry set by the formula. */
    static Fcos goldenModel(Map<String, String> meta) {
        Fcos m = Fcos.create("fcos_resnet50_fpn", 91, true);
        m.setOptions(m.options().withSizes(Integer.parseInt(meta.get("min_size")), Integer.parseInt(meta.get("max_size"))));
        FormulaWeights.apply(m);
        return m;
    }

    static double relErr(Tensor want, Tensor got) {
        assertArrayEquals(want.shape(), got.shape());
        return Tensor.maxAbsDiff(want, got) / Math.max(want.maxAbs(), 1e-30);
    }

    @Test
    void keysAndParameterCountsAreTorchvisions() throws Exception {
        Map<String, String> counts = SafeTensors.read(GOLDENS.resolve("fcos_counts.safetensors")).metadata();
        Fcos m = Fcos.create("fcos_resnet50_fpn", 91, true);
        List<String> want = new ArrayList<>(Files.readAllLines(GOLDENS.resolve("keys_fcos_resnet50_fpn.txt")));
        want.addAll(Files.readAllLines(GOLDENS.resolve("keys_fcos_head.txt")));
        List<String> got = new ArrayList<>();
        m.stateDict().forEach((k, t) -> got.add(k + " " + String.join(",", Arrays.stream(t.shape()).mapToObj(String::valueOf).toList())));
        assertEquals(want, got, "state_dict keys with shapes, in order");
        assertCounts(counts, "fcos_resnet50_fpn", m);
        assertCounts(counts, "fcos_resnet50_fpn_scratch", Fcos.create("fcos_resnet50_fpn", 91, false));
        assertCounts(counts, "fcos_resnet18_fpn", Fcos.create("fcos_resnet18_fpn", 91, true));
        assertEquals(800, m.options().minSize());
        assertEquals(1333, m.options().maxSize());
    }

    private static void assertCounts(Map<String, String> counts, String name, Fcos m) {
        assertEquals(Long.parseLong(counts.get(name + "/parameters_total")), m.parameterCount(), name + " parameters");
        assertEquals(Long.parseLong(counts.get(name + "/parameters_trainable")), m.trainableParameterCount(), name + " trainable");
    }

    @Test
    void transformMatchesTorchvision() {
        Map<String, String> meta = transform.metadata();
        GeneralizedRcnnTransform t = new GeneralizedRcnnTransform(Integer.parseInt(meta.get("min_size")), Integer.parseInt(meta.get("max_size")));
        List<Tensor> ims = images(meta);
        GeneralizedRcnnTransform.ImageList il = t.apply(ims, null, null);
        assertArrayEquals(ints(meta.get("batch_shape")), il.tensors().shape(), "padded batch");
        String[] sizes = meta.get("image_sizes").split(";");
        StringBuilder report = new StringBuilder("transform relative error:");
        for (int j = 0; j < ims.size(); j++) {
            assertArrayEquals(ints(sizes[j]), il.imageSizes()[j], "image " + j + " size");
            Tensor want = transform.tensors().get("image" + j);
            int c = want.dim(0), h = want.dim(1), w = want.dim(2), bh = il.tensors().dim(2), bw = il.tensors().dim(3);
            Tensor got = Tensor.zeros(c, h, w);
            float[] b = il.tensors().data();
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < bh; y++) {
                    for (int x = 0; x < bw; x++) {
                        float v = b[((j * c + ch) * bh + y) * bw + x];
                        if (y < h && x < w) got.data()[(ch * h + y) * w + x] = v;
                        else assertEquals(0f, v, "padding of image " + j + " at " + y + "," + x);
                    }
                }
            }
            double err = relErr(want, got);
            report.append(String.format(" image%d %.1e", j, err));
            assertTrue(err <= 1e-5, "image " + j + ": " + err);
        }
        System.out.println(report);
    }

    @Test
    void headOutputsAndDetectionsMatchTorchvision() {
        Map<String, String> meta = eval.metadata();
        Fcos m = goldenModel(meta);
        m.eval();
        List<Tensor> ims = images(meta);
        Fcos.Pass p;
        try (var ignored = GradMode.noGrad()) {
            p = m.run(ims, null);
        }
        assertEquals(0f, Tensor.maxAbsDiff(eval.tensors().get("anchors"), p.anchors()), "anchors");
        String[] levels = meta.get("levels").split(";");
        assertEquals(levels.length, p.anchorsPerLevel().length);
        for (int l = 0; l < levels.length; l++) {
            int[] hw = ints(levels[l]);
            assertEquals(hw[0] * hw[1], p.anchorsPerLevel()[l], "level " + l + " anchors");
        }
        StringBuilder report = new StringBuilder("head relative error per level:");
        Map<String, Tensor> got = Map.of("cls_logits", p.outputs().clsLogits().value(), "bbox_regression",
                p.outputs().bboxRegression().value(), "bbox_ctrness", p.outputs().bboxCtrness().value());
        for (String k : List.of("cls_logits", "bbox_regression", "bbox_ctrness")) {
            Tensor want = eval.tensors().get(k), g = got.get(k);
            assertArrayEquals(want.shape(), g.shape(), k);
            report.append("\n  ").append(k);
            int start = 0;
            for (int l = 0; l < levels.length; l++) {
                int n = p.anchorsPerLevel()[l];
                double err = relErr(rows(want, start, n), rows(g, start, n));
                report.append(String.format(" L%d %.1e", l, err));
                assertTrue(err <= 1e-4, k + " level " + l + ": " + err);
                start += n;
            }
        }
        System.out.println(report);
        float thresh = (float) Double.parseDouble(meta.get("score_thresh"));
        for (String post : meta.get("post").split(";")) {
            String[] cfg = post.split(",");
            String name = cfg[0];
            m.setOptions(m.options().withScoreThresh(thresh).withNmsThresh(Float.parseFloat(cfg[1]))
                    .withTopkCandidates(Integer.parseInt(cfg[2])));
            List<Detections> dets = m.postprocess(p, ims);
            for (int j = 0; j < ims.size(); j++) {
                String k = name + "/det" + j + "/";
                Tensor wantLabels = eval.tensors().get(k + "labels");
                Detections d = dets.get(j);
                assertEquals(wantLabels.size(), d.size(), k + " count");
                for (int i = 0; i < d.size(); i++) assertEquals((int) wantLabels.data()[i], d.labels()[i], k + " label " + i);
                double boxErr = Tensor.maxAbsDiff(eval.tensors().get(k + "boxes"), d.boxes());
                double scoreErr = Tensor.maxAbsDiff(eval.tensors().get(k + "scores"), d.scores());
                System.out.printf("%s: %d detections, boxes within %.1e px, scores within %.1e (PyTorch float32: %s px, %s)%n", k,
                        d.size(), boxErr, scoreErr, meta.get(k + "torch_f32_box_err"), meta.get(k + "torch_f32_score_err"));
                assertTrue(boxErr <= 1e-3, k + " boxes: " + boxErr);
                assertTrue(scoreErr <= 1e-4, k + " scores: " + scoreErr);
            }
        }
        // detect() is the same pass and post-processing
        List<Detections> again = m.detect(ims);
        assertEquals(0f, Tensor.maxAbsDiff(m.postprocess(p, ims).get(0).boxes(), again.get(0).boxes()));
    }

    @Test
    void topkKeepsTheLargestScoresWithTiesInIndexOrder() {
        float[] sc = {0.5f, 0.9f, 0.5f, 0.7f, 0.5f, 0.1f};
        assertArrayEquals(new Integer[] {1, 3, 0}, FcosPostprocess.topk(sc, 6, 3));
        assertArrayEquals(new Integer[] {1, 3, 0, 2, 4}, FcosPostprocess.topk(sc, 6, 5));
        assertArrayEquals(new Integer[] {1, 3, 0, 2, 4, 5}, FcosPostprocess.topk(sc, 6, 6));
        assertArrayEquals(new Integer[] {1, 0, 2}, FcosPostprocess.topk(sc, 3, 3));
    }

    /** Rows [start, start + n) of every image of an [N, R, K] tensor. */
    static Tensor rows(Tensor t, int start, int n) {
        int b = t.dim(0), r = t.dim(1), k = t.dim(2);
        Tensor out = Tensor.zeros(b, n, k);
        for (int i = 0; i < b; i++) System.arraycopy(t.data(), (i * r + start) * k, out.data(), i * n * k, n * k);
        return out;
    }
}
