package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;

/**
 * The trainer's one loop on the detection task: FCOS learns generated scenes and is scored with
 * COCO AP; it fine-tunes from a classifier's weights on a COCO-layout folder and resumes exactly;
 * unusable COCO entries are named, skipped and counted without stopping the run.
 */
class DetectionTrainingTest {
    @TempDir
    Path dir;

    private TrainConfig tiny(String name) {
        TrainConfig c = new TrainConfig();
        c.task = "detection";
        c.model = "fcos_resnet18_fpn";
        c.data = "scenes";
        c.imageSize = 64;
        c.shapesTrain = 12;
        c.shapesTest = 4;
        c.batchSize = 4;
        c.epochs = 3;
        c.optimizer = "adamw";
        c.lr = 1e-3;
        c.weightDecay = 1e-4;
        c.threads = 2;
        c.workers = 1;
        c.runsDir = dir.resolve("runs").toString();
        c.name = name;
        return c;
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    private static final class Interrupt extends RuntimeException {}

    /** The loss falls; AP, AP50 and AP75 are logged each epoch and AP is the primary metric. */
    @ParameterizedTest
    @ValueSource(strings = {"fcos_resnet18_fpn", "fcos_resnet18w32_fpn"})
    void detectionTrainingLearnsScenes(String model) throws Exception {
        TrainConfig c = tiny("learn");
        c.model = model;
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Trainer.Result r = new Trainer(c, new PrintStream(text)).fit();
        Path run = dir.resolve("runs/learn");
        double[] loss = MetricsLog.column(run, "train_loss"), ap = MetricsLog.column(run, "test_ap"), ap50 = MetricsLog.column(run, "test_ap50");
        System.out.println(text);
        assertTrue(loss[2] < 0.8 * loss[0], "train loss falls: " + java.util.Arrays.toString(loss));
        for (int e = 0; e < 3; e++) {
            assertTrue(ap[e] >= 0 && ap[e] <= ap50[e] && ap50[e] <= 1, "AP " + ap[e] + " <= AP50 " + ap50[e]);
        }
        assertEquals(ap[2], r.scores().primary(), 1e-6); // the CSV keeps 6 digits
        assertTrue(r.scores().report().contains("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"), r.scores().report());
        assertNull(r.test(), "no classification evaluation for detection");
        assertTrue(text.toString().contains(" AP50 ") && !text.toString().contains(" acc "), text.toString());
        assertTrue(!Files.readAllLines(run.resolve("metrics.csv")).get(0).contains("train_acc"), "a detector has no accuracy");
        assertEquals("detection", Checkpoint.readState(run.resolve("checkpoints/last.safetensors")).config().get("task"));
    }

    /**
     * A COCO-layout folder of boxes in two colours: red squares (category 3) and blue ones
     * (category 7), two or three per 64x64 image on a grey background.
     */
    private Path cocoFolder(String name, int trainImages, int valImages) throws Exception {
        Path root = dir.resolve(name);
        SplittableRandom rng = new SplittableRandom(7);
        for (String split : List.of("train", "val")) {
            Files.createDirectories(root.resolve(split));
            Files.createDirectories(root.resolve("annotations"));
            StringBuilder images = new StringBuilder(), anns = new StringBuilder();
            int n = split.equals("train") ? trainImages : valImages, annId = 1;
            for (int i = 0; i < n; i++) {
                BufferedImage b = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = b.createGraphics();
                g.setColor(Color.GRAY);
                g.fillRect(0, 0, 64, 64);
                int objects = 2 + rng.nextInt(2);
                for (int k = 0; k < objects; k++) {
                    boolean red = rng.nextBoolean();
                    int s = 14 + rng.nextInt(12), x = rng.nextInt(64 - s), y = rng.nextInt(64 - s);
                    g.setColor(red ? Color.RED : Color.BLUE);
                    g.fillRect(x, y, s, s);
                    if (anns.length() > 0) anns.append(", ");
                    anns.append(String.format("{\"id\": %d, \"image_id\": %d, \"category_id\": %d, \"bbox\": [%d, %d, %d, %d], \"area\": %d, \"iscrowd\": 0}",
                            annId++, i + 1, red ? 3 : 7, x, y, s, s, s * s));
                }
                g.dispose();
                ImageIO.write(b, "png", root.resolve(split).resolve("img" + i + ".png").toFile());
                if (i > 0) images.append(", ");
                images.append(String.format("{\"id\": %d, \"file_name\": \"img%d.png\", \"width\": 64, \"height\": 64}", i + 1, i));
            }
            Files.writeString(root.resolve("annotations/instances_" + split + ".json"), "{\"images\": [" + images + "], \"annotations\": [" + anns
                    + "], \"categories\": [{\"id\": 7, \"name\": \"blue\"}, {\"id\": 3, \"name\": \"red\"}]}");
        }
        return root;
    }

    /** An ImageNet-style classifier's weights, as a user would bring them: resnet18 with 1000 classes. */
    private Path classifierWeights() throws Exception {
        Path f = dir.resolve("resnet18-imagenet.safetensors");
        if (!Files.exists(f)) {
            Init.manualSeed(3);
            org.resnet4j.nn.Module net = Models.create("resnet18", ModelConfig.defaults(1000));
            // a trained classifier's batch norms hold its activations' statistics, which FCOS keeps
            // frozen: fill them in with forward passes in train mode (a fresh net's 0 and 1 would
            // let the activations grow layer after layer, which no real checkpoint does)
            net.train();
            SplittableRandom rng = new SplittableRandom(5);
            try (var g = org.resnet4j.autograd.GradMode.noGrad()) {
                for (int pass = 0; pass < 30; pass++) {
                    org.resnet4j.tensor.Tensor x = org.resnet4j.tensor.Tensor.zeros(4, 3, 32, 32);
                    for (int i = 0; i < x.size(); i++) x.data()[i] = (float) rng.nextGaussian();
                    net.call(org.resnet4j.autograd.Variable.constant(x));
                }
            }
            SafeTensors.write(f, net.stateDict(), Map.of());
        }
        return f;
    }

    private TrainConfig finetune(String name, Path coco) throws Exception {
        TrainConfig c = tiny(name);
        c.data = "coco:" + coco;
        c.weights = classifierWeights().toString();
        c.batchSize = 2;
        c.optimizer = "sgd";
        c.lr = 0.01;
        c.warmupEpochs = 1;
        c.clipNorm = 10;
        return c;
    }

    /** Fine-tuning from a classifier's backbone on COCO files: the loss falls, and a killed run resumed ends bit for bit where an uninterrupted one does. */
    @Test
    void finetunesFromAClassifierOnCocoFilesAndResumesExactly() throws Exception {
        Path coco = cocoFolder("coco", 4, 2);
        Trainer.Result full = new Trainer(finetune("full", coco), quiet()).fit();
        double[] loss = MetricsLog.column(dir.resolve("runs/full"), "train_loss");
        assertTrue(loss[2] < loss[0], "train loss falls: " + java.util.Arrays.toString(loss));
        assertTrue(full.model().namedParameters().get("backbone.body.layer1.0.conv1.weight").requiresGrad() == false,
                "with weights given, conv1 and layer1 stay frozen (torchvision's trainable_backbone_layers=3)");

        TrainConfig broken = finetune("broken", coco);
        assertThrows(Interrupt.class, () -> new Trainer(broken, quiet()).onStep((epoch, it) -> {
            if (epoch == 1 && it == 3) throw new Interrupt(); // mid-epoch 2 (2 steps per epoch)
        }).fit());
        TrainConfig again = finetune("broken", coco);
        again.resume = true;
        Trainer.Result resumed = new Trainer(again, quiet()).fit();
        var a = full.model().stateDict();
        var b = resumed.model().stateDict();
        for (String k : a.keySet()) assertArrayEquals(a.get(k).data(), b.get(k).data(), k);
        assertArrayEquals(MetricsLog.column(dir.resolve("runs/full"), "test_ap"), MetricsLog.column(dir.resolve("runs/broken"), "test_ap"));
    }

    /**
     * Bad entries in COCO files: a box outside the image, a zero-width and a negative-size box, a
     * category id the file does not list, an annotation of an image not in "images", a corrupt
     * image, a missing one and one of another size than declared. Each is named (file and entry), skipped and counted; the run ends.
     */
    @Test
    void badCocoEntriesAreNamedSkippedAndCounted() throws Exception {
        Path coco = cocoFolder("bad", 8, 4);
        Path ann = coco.resolve("annotations/instances_train.json");
        String json = Files.readString(ann);
        String bad = "{\"id\": 901, \"image_id\": 1, \"category_id\": 3, \"bbox\": [70, 10, 5, 5], \"iscrowd\": 0}, "
                + "{\"id\": 902, \"image_id\": 1, \"category_id\": 3, \"bbox\": [10, 10, 0, 5], \"iscrowd\": 0}, "
                + "{\"id\": 903, \"image_id\": 2, \"category_id\": 7, \"bbox\": [10, 10, -4, 5], \"iscrowd\": 0}, "
                + "{\"id\": 904, \"image_id\": 2, \"category_id\": 5, \"bbox\": [10, 10, 8, 8], \"iscrowd\": 0}, "
                + "{\"id\": 905, \"image_id\": 99, \"category_id\": 3, \"bbox\": [10, 10, 8, 8], \"iscrowd\": 0}, ";
        Files.writeString(ann, json.replace("\"annotations\": [", "\"annotations\": [" + bad));
        byte[] png = Files.readAllBytes(coco.resolve("train/img3.png"));
        Files.write(coco.resolve("train/img3.png"), java.util.Arrays.copyOf(png, png.length / 2)); // truncated
        Files.delete(coco.resolve("val/img1.png"));
        ImageIO.write(new BufferedImage(60, 64, BufferedImage.TYPE_INT_RGB), "png", coco.resolve("val/img2.png").toFile()); // not its declared 64x64
        TrainConfig c = tiny("bad");
        c.data = "coco:" + coco;
        c.epochs = 2;
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        Trainer.Result r = new Trainer(c, new PrintStream(text)).fit();
        String out = text.toString();
        for (String id : List.of("901", "902", "903", "904", "905")) {
            assertTrue(out.contains("instances_train.json: annotation " + id), "annotation " + id + " named:\n" + out);
        }
        assertTrue(out.contains("outside the 64x64 image") && out.contains("category_id 5") && out.contains("image 99"), out);
        assertTrue(out.contains("img3.png") && out.contains("img1.png") && out.contains("img2.png: the image is 60x64"), out);
        assertEquals(2, MetricsLog.column(dir.resolve("runs/bad"), "epoch").length, "both epochs ran");
        assertEquals(1, r.skippedTrainFiles());
        assertEquals(2, r.skippedTestFiles());
        assertEquals("1 of 8 train files and 2 of 4 test files unreadable, skipped; 5 annotations unusable, skipped", r.skippedSummary());
        assertTrue(out.contains("5 annotations unusable, skipped"), out);
    }

    /** Crowd regions: never matched, and the background points inside them leave the classification loss. */
    @Test
    void crowdRegionsAreIgnoredInMatchingAndLoss() {
        Init.manualSeed(1);
        org.resnet4j.detection.Fcos m = org.resnet4j.detection.Fcos.create("fcos_resnet18_fpn", 2, false);
        m.setOptions(m.options().withSizes(64, 64));
        m.eval(); // batch norm on running statistics, so the three passes see the same network
        org.resnet4j.tensor.Tensor img = org.resnet4j.tensor.Tensor.zeros(3, 64, 64);
        for (int i = 0; i < img.size(); i++) img.data()[i] = (i * 37 % 101) / 101f;
        var regular = new org.resnet4j.detection.DetectionTarget(org.resnet4j.tensor.Tensor.of(new float[] {4, 4, 24, 24}, 1, 4), new int[] {0});
        var crowdBox = org.resnet4j.tensor.Tensor.of(new float[] {30, 30, 62, 62}, 1, 4);
        List<org.resnet4j.tensor.Tensor> none = new ArrayList<>();
        none.add(null);
        var plain = m.losses(List.of(img), List.of(regular), none);
        var torchvision = m.losses(List.of(img), List.of(regular));
        var ignoring = m.losses(List.of(img), List.of(regular), List.of(crowdBox));
        for (String k : plain.keySet()) assertEquals(torchvision.get(k).value().data()[0], plain.get(k).value().data()[0], 0f, k);
        float cls = plain.get("classification").value().data()[0], clsIgnoring = ignoring.get("classification").value().data()[0];
        assertTrue(clsIgnoring < cls, "the points inside the crowd region no longer count as background: " + cls + " -> " + clsIgnoring);
        assertEquals(plain.get("bbox_regression").value().data()[0], ignoring.get("bbox_regression").value().data()[0], 0f,
                "the crowd box is not a regression target");
    }
}
