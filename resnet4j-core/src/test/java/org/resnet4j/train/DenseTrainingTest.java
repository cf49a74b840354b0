package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.tensor.Tensor;

/** The trainer's one loop on the segmentation task: it learns, logs mIoU, and resumes exactly. */
class DenseTrainingTest {
    @TempDir
    Path dir;

    private TrainConfig tiny(String name) {
        TrainConfig c = new TrainConfig();
        c.task = "segmentation";
        c.model = "fcn_resnet18";
        c.data = "scenes";
        c.imageSize = 64;
        c.shapesTrain = 32;
        c.shapesTest = 16;
        c.batchSize = 8;
        c.epochs = 3;
        c.lr = 0.02;
        c.auxLoss = true;
        c.threads = 2;
        c.workers = 1;
        c.runsDir = dir.toString();
        c.name = name;
        return c;
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    private static final class Interrupt extends RuntimeException {}

    /** The loss falls, mIoU climbs above the untrained model's, and the metrics rows carry both. */
    @Test
    void segmentationTrainingLearnsScenes() throws Exception {
        TrainConfig c = tiny("learn");
        c.ema = 0.5; // the EMA path evaluates the averaged weights
        List<Double> before = new ArrayList<>();
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Trainer.Result r = new Trainer(c, new PrintStream(text)).onEpoch((done, model, src) -> {
            if (done == 0) {
                try (DenseLoader l = new DenseLoader(new org.resnet4j.data.dense.SceneDataset(
                        new org.resnet4j.data.SyntheticScenes(c.shapesTest, c.seed * 2 + 2, 64, 6)), SegmentationTask.pick(16, 0, 0),
                        org.resnet4j.data.dense.DenseTransforms.imageOnly(org.resnet4j.data.Normalize.imagenet()), 8, false, false, 0, 0)) {
                    before.add(SegmentationTask.evaluate(model, l, org.resnet4j.data.dense.SceneDataset.maskClasses()).get("test_miou"));
                }
            }
        }).fit();
        double[] loss = MetricsLog.column(dir.resolve("learn"), "train_loss"), miou = MetricsLog.column(dir.resolve("learn"), "test_miou");
        double[] acc = MetricsLog.column(dir.resolve("learn"), "test_pixel_acc");
        System.out.printf("segmentation: train loss %.4f -> %.4f, test mIoU %.4f (untrained) -> %.4f, pixel acc %.4f%n",
                loss[0], loss[2], before.get(0), miou[2], acc[2]);
        assertTrue(loss[2] < loss[0], "train loss falls: " + java.util.Arrays.toString(loss));
        assertTrue(miou[2] > before.get(0), "mIoU rises: " + before + " -> " + java.util.Arrays.toString(miou));
        assertEquals(miou[2], r.scores().primary(), 1e-6); // the CSV keeps 6 digits
        assertEquals(null, r.test(), "no classification evaluation for segmentation");
        assertTrue(text.toString().contains("mIoU"), text.toString());
        assertEquals("segmentation", Checkpoint.readState(dir.resolve("learn/checkpoints/last.safetensors")).config().get("task"));
        assertEquals("fcn_resnet18", Checkpoint.readState(dir.resolve("learn/checkpoints/last.safetensors")).config().get("model"));
    }

    /** The prediction grid's masks are what the evaluation scores: same images, same resize and normalisation. */
    @Test
    void testSamplePredictionsAreWhatEvaluationScores() throws Exception {
        TrainConfig c = tiny("grid");
        c.model = "fcn_resnet20_os2";
        c.testSubset = 6;
        org.resnet4j.segmentation.SegmentationModel model = org.resnet4j.segmentation.SegmentationModels.create(c.model, 7, true);
        model.eval();
        SegmentationTask.Sample sample = SegmentationTask.testSample(c, 100);
        assertEquals(6, sample.examples().size());
        long right = 0, scored = 0;
        for (org.resnet4j.data.dense.DenseExample e : sample.examples()) {
            assertTrue(e.image().hasShape(3, 64, 64), e.image().shapeString());
            int[] truth = e.target().semantic(), pred = SegmentationTask.predict(model, e.image());
            for (int p = 0; p < truth.length; p++) {
                if (truth[p] == org.resnet4j.data.dense.DenseTarget.IGNORE) continue;
                scored++;
                if (pred[p] == truth[p]) right++;
            }
        }
        try (DenseLoader l = new DenseLoader(new org.resnet4j.data.dense.SceneDataset(
                new org.resnet4j.data.SyntheticScenes(c.shapesTest, c.seed * 2 + 2, 64, 6)), SegmentationTask.pick(c.shapesTest, 6, c.seed + 1),
                org.resnet4j.data.dense.DenseTransforms.imageOnly(org.resnet4j.data.Normalize.imagenet()), 4, false, false, 0, 0)) {
            double acc = SegmentationTask.evaluate(model, l, org.resnet4j.data.dense.SceneDataset.maskClasses()).get("test_pixel_acc");
            assertEquals(acc, (double) right / scored, 1e-12, "the grid's pixels against the evaluation's");
        }
    }

    /** A run killed in epoch 2 and resumed ends with exactly the weights of an uninterrupted run. */
    @Test
    void resumeIsExact() throws Exception {
        Trainer.Result full = new Trainer(tiny("full"), quiet()).fit();
        TrainConfig broken = tiny("broken");
        assertThrows(Interrupt.class, () -> new Trainer(broken, quiet()).onStep((epoch, it) -> {
            if (epoch == 1 && it == 6) throw new Interrupt();
        }).fit());
        assertEquals(1, Checkpoint.readState(dir.resolve("broken/checkpoints/last.safetensors")).epoch());
        TrainConfig again = tiny("broken");
        again.resume = true;
        Trainer.Result resumed = new Trainer(again, quiet()).fit();
        var a = full.model().stateDict();
        var b = resumed.model().stateDict();
        for (String k : a.keySet()) assertArrayEquals(a.get(k).data(), b.get(k).data(), k);
        assertEquals(full.scores().primary(), resumed.scores().primary());
        assertArrayEquals(MetricsLog.column(dir.resolve("full"), "test_miou"), MetricsLog.column(dir.resolve("broken"), "test_miou"));
    }

    @Test
    void badInputIsRefusedNamingIt() {
        TrainConfig c = tiny("bad");
        c.model = "resnet18";
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Trainer(c, quiet()).fit()).getMessage().contains("fcn_resnet18"));
        TrainConfig d = tiny("bad");
        d.mixup = 0.2;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Trainer(d, quiet()).fit()).getMessage().contains("mixup"));
        TrainConfig e = tiny("bad");
        e.task = "detection"; // with a segmentation model
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Trainer(e, quiet()).fit()).getMessage().contains("fcos_resnet18_fpn"));
        TrainConfig f = tiny("bad");
        f.data = "shapes";
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Trainer(f, quiet()).fit()).getMessage().contains("scenes"));
    }

    /** The task's scores [N, K, H, W] into the metrics' confusion matrix on a hand-made case; 255 is not scored. */
    @Test
    void confusionMatrixScoresPixels() {
        // 1 image, 2 classes, 1x4 pixels: scores pick classes 0, 1, 1, 0; truth 0, 1, 0, 255
        Tensor scores = Tensor.of(new float[] {1, 0, 0, 1, /* class 1 */ 0, 1, 1, 0}, 1, 2, 1, 4);
        Tensor truth = Tensor.of(new float[] {0, 1, 0, 255}, 1, 1, 4);
        org.resnet4j.metrics.ConfusionMatrix cm = new org.resnet4j.metrics.ConfusionMatrix(2);
        SegmentationTask.update(cm, scores, truth);
        assertEquals(3, cm.total());
        assertEquals(2, SegmentationTask.correct(cm));
        assertEquals(2.0 / 3, cm.pixelAccuracy(), 1e-12);
        // class 0: tp 1, row 2, col 1 -> 1/2; class 1: tp 1, row 1, col 2 -> 1/2
        assertEquals(0.5, cm.meanIouOfDefined(), 1e-12);
    }
}
