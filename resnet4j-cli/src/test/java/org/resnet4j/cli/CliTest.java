package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import org.resnet4j.testing.Cli;
import org.resnet4j.testing.Cli.Run;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.resnet4j.io.json.Json;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

class CliTest {
    @TempDir
    Path dir;

    private static Run run(String... args) {
        return Cli.run(args);
    }

    @Test
    void modelsListsEveryModelWithItsCount() {
        Run r = run("models");
        assertEquals(0, r.code());
        for (String name : Models.all().keySet()) assertTrue(r.out().contains(name + " "), name);
        assertTrue(r.out().contains("25,557,032"), r.out());
    }

    @Test
    void infoJsonCarriesParams() {
        Run r = run("info", "--model", "resnet20", "--in-channels", "1", "--size", "28", "--json");
        assertEquals(0, r.code(), r.err());
        Object json = r.json();
        long expected = Models.create("resnet20", ModelConfig.defaults(10).withInChannels(1)).parameterCount();
        assertEquals(expected, (long) Cli.number(json, "params"));
        assertEquals("[1,10]", Json.write(Cli.at(json, "output")));
    }

    @Test
    void benchRefusesSizesBelowOneNamingTheOption() {
        for (String[] bad : new String[][] {{"--batch", "0"}, {"--size", "0"}, {"--in-channels", "0"}}) {
            Run r = run("bench", "--model", "resnet20", bad[0], bad[1], "--warmup-seconds", "0", "--min-seconds", "0");
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains(bad[0] + " must be >= 1, got 0"), r.err());
        }
    }

    /** The serving benchmark end to end on loopback, briefly: served figures beside offline ones, then the overload. */
    @Test
    void benchServeMeasuresTheServerOnLoopback() {
        Run r = run("bench", "serve", "--model", "resnet8", "--clients", "1,3", "--seconds", "1", "--overload-seconds", "1",
                "--warmup-seconds", "0", "--max-batch", "4", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        List<Map<?, ?>> rows = r.out().lines().filter(l -> l.startsWith("{")).<Map<?, ?>>map(l -> (Map<?, ?>) Json.parse(l)).toList();
        List<Map<?, ?>> closed = rows.stream().filter(m -> "serve closed loop".equals(m.get("what"))).toList();
        assertEquals(List.of(1L, 3L), closed.stream().map(m -> m.get("clients")).toList(), r.out());
        for (Map<?, ?> m : closed) {
            assertEquals(0L, m.get("errors"), r.out());
            assertTrue(((Number) m.get("answered")).longValue() > 0 && ((Number) m.get("req_per_s")).doubleValue() > 0, r.out());
            // where the time went: the server's stages and what is left outside it
            Map<?, ?> split = (Map<?, ?>) m.get("split_ms");
            assertTrue(split != null && split.keySet().containsAll(List.of("read", "decode", "queue", "forward", "resume", "answer", "write",
                    "server", "outside_server")), r.out());
        }
        assertTrue(rows.stream().anyMatch(m -> "resnet8 serve summary".equals(m.get("what"))), r.out());
        Map<?, ?> overload = rows.stream().filter(m -> "serve open loop overload".equals(m.get("what"))).findFirst().orElseThrow();
        assertEquals(((Number) overload.get("requests")).longValue(),
                ((Number) overload.get("answered")).longValue() + ((Number) overload.get("errors")).longValue(), "every request answered or refused");
    }

    @Test
    void unknownModelIsAClearError() {
        Run r = run("info", "--model", "resnet19");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown model 'resnet19'") && r.err().contains("resnet18"), r.err());
    }

    @Test
    void forwardMatchesTheLibraryAndRejectsBadWeights() throws Exception {
        Path w = dir.resolve("w.safetensors"), x = dir.resolve("x.safetensors"), y = dir.resolve("y.safetensors");
        assertEquals(0, run("init", "--model", "resnet20", "--seed", "3", "--output", w.toString()).code());
        Tensor input = Tensor.randn(7, 2, 3, 32, 32);
        SafeTensors.write(x, Map.of("input", input), null);

        Run r = run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(), "--output", y.toString());
        assertEquals(0, r.code(), r.err());
        Tensor got = SafeTensors.read(y).tensors().get("output");

        Module m = Models.create("resnet20");
        m.loadStateDict(SafeTensors.read(w).tensors(), true);
        m.eval();
        Tensor want;
        try (var g = GradMode.noGrad()) {
            want = m.call(Variable.constant(input)).value();
        }
        assertEquals(0f, Tensor.maxAbsDiff(want, got));

        // wrong shape: named with both shapes; nothing written
        LinkedHashMap<String, Tensor> bad = new LinkedHashMap<>(SafeTensors.read(w).tensors());
        bad.put("layer1.0.conv1.weight", Tensor.zeros(16, 16, 5, 5));
        bad.remove("layer3.2.bn2.running_var");
        bad.put("layer9.weight", Tensor.zeros(1));
        Path wb = dir.resolve("bad.safetensors"), yb = dir.resolve("never.safetensors");
        SafeTensors.write(wb, bad, null);
        r = run("forward", "--model", "resnet20", "--weights", wb.toString(), "--input", x.toString(), "--output", yb.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("layer1.0.conv1.weight: expected [16, 16, 3, 3], got [16, 16, 5, 5]"), r.err());
        assertTrue(r.err().contains("missing keys: [layer3.2.bn2.running_var]"), r.err());
        assertTrue(r.err().contains("unexpected keys: [layer9.weight]"), r.err());
        assertTrue(r.err().contains("bad.safetensors"), r.err());
        assertTrue(!yb.toFile().exists());
    }

    @Test
    void forwardInTrainModeUsesBatchStatistics() throws Exception {
        Path w = dir.resolve("w.safetensors"), x = dir.resolve("x.safetensors"), y = dir.resolve("y.safetensors");
        run("init", "--model", "resnet20", "--output", w.toString());
        SafeTensors.write(x, Map.of("input", Tensor.randn(1, 4, 3, 32, 32)), null);
        run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(), "--output", y.toString());
        Tensor eval = SafeTensors.read(y).tensors().get("output");
        assertEquals(0, run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(),
                "--output", y.toString(), "--train-mode").code());
        Tensor train = SafeTensors.read(y).tensors().get("output");
        assertTrue(Tensor.maxAbsDiff(eval, train) > 1e-3, "batch statistics should change the output");
    }

    @Test
    void forwardRejectsAnInputWithoutTheInputTensor() throws Exception {
        Path w = dir.resolve("w.safetensors"), x = dir.resolve("x.safetensors");
        run("init", "--model", "resnet20", "--output", w.toString());
        SafeTensors.write(x, Map.of("images", Tensor.zeros(1, 3, 32, 32)), null);
        Run r = run("forward", "--model", "resnet20", "--weights", w.toString(), "--input", x.toString(), "--output", dir.resolve("y").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no tensor named 'input'"), r.err());
    }

    @Test
    void trainEvalPredict() throws Exception {
        Run r = run("train", "--model", "resnet8", "--data", "shapes", "--epochs", "1", "--batch-size", "32",
                "--train-subset", "128", "--test-subset", "64", "--threads", "2", "--runs-dir", dir.toString(), "--name", "cli");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("done: test top-1"), r.out());
        Path ckpt = dir.resolve("cli/checkpoints/best.safetensors");

        r = run("eval", "--checkpoint", ckpt.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        Object json = r.json();
        assertEquals(2000, (int) Cli.number(json, "examples"), "eval uses the whole test split");
        double top1 = Cli.number(json, "top1");
        assertTrue(top1 >= 0 && top1 <= 1);

        // a PNG of a generated circle, and a corrupt file: the good one is answered, the bad one named
        var shapes = new org.resnet4j.data.SyntheticShapes(8, 99);
        int idx = 0;
        while (shapes.label(idx) != org.resnet4j.data.SyntheticShapes.CIRCLE) idx++;
        Tensor img = shapes.get(idx).image();
        java.awt.image.BufferedImage bi = org.resnet4j.data.ImageDecoder.toImage(img, 1);
        Path png = dir.resolve("circle.png"), broken = dir.resolve("broken.jpg");
        javax.imageio.ImageIO.write(bi, "png", png.toFile());
        java.nio.file.Files.write(broken, new byte[] {1, 2, 3, 4, 5});
        r = run("predict", "--checkpoint", ckpt.toString(), "--top", "3", "--json", png.toString(), broken.toString());
        assertEquals(2, r.code(), "a failed image makes the exit code non-zero");
        assertTrue(r.err().contains("broken.jpg"), r.err());
        Object arr = r.json();
        assertEquals(1, ((List<?>) arr).size());
        Object top = Cli.at(arr, 0, "top");
        assertEquals(3, ((List<?>) top).size());
        double p0 = Cli.number(top, 0, "probability");
        double p1 = Cli.number(top, 1, "probability");
        assertTrue(p0 >= p1 && p0 <= 1);
        assertTrue(org.resnet4j.data.SyntheticShapes.CLASSES.contains((String) Cli.at(top, 0, "class")));
    }

    /** A fixture the core's test jar carries (its src/test/resources), copied to a file. */
    private Path coreResource(String name) throws java.io.IOException {
        Path out = dir.resolve("fixtures").resolve(name);
        java.nio.file.Files.createDirectories(out.getParent());
        try (var in = CliTest.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new java.io.FileNotFoundException(name + " is not on the test class path (resnet4j-core's test jar)");
            java.nio.file.Files.copy(in, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    /** A torch.save'd state_dict converted, then run: PyTorch's output (tools/make_pth_fixtures.py). */
    @Test
    void convertThenForwardReproducesPyTorch() throws Exception {
        Path pth = dir.resolve("resnet8.pth");
        try (var in = new java.util.zip.GZIPInputStream(java.nio.file.Files.newInputStream(coreResource("pth/resnet8.pth.gz")))) {
            java.nio.file.Files.copy(in, pth);
        }
        Path st = dir.resolve("resnet8.safetensors"), x = dir.resolve("x.safetensors"), y = dir.resolve("y.safetensors");
        Run r = run("convert", pth.toString(), st.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Tensor> io = SafeTensors.read(coreResource("pth/resnet8_io.safetensors")).tensors();
        SafeTensors.write(x, Map.of("input", io.get("input")), null);
        r = run("forward", "--model", "resnet8", "--weights", st.toString(), "--input", x.toString(), "--output", y.toString());
        assertEquals(0, r.code(), r.err());
        Tensor got = SafeTensors.read(y).tensors().get("output"), want = io.get("output");
        assertTrue(Tensor.maxAbsDiff(want, got) <= 1e-5 * want.maxAbs(), "max diff " + Tensor.maxAbsDiff(want, got));

        r = run("convert", coreResource("pth/evil_os_system.pth").toString(), dir.resolve("evil.safetensors").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("os.system"), r.err());
        assertTrue(!dir.resolve("evil.safetensors").toFile().exists());
    }

    /** ImageNet-size weights: torchvision's eval preprocessing and class names; embeddings of the same images. */
    @Test
    void predictAndEmbedFromWeights() throws Exception {
        Path w = dir.resolve("r18.safetensors");
        assertEquals(0, run("init", "--model", "resnet18", "--output", w.toString()).code());
        java.awt.image.BufferedImage bi = new java.awt.image.BufferedImage(300, 240, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 240; y++) for (int x = 0; x < 300; x++) bi.setRGB(x, y, (x % 256) << 16 | (y % 256) << 8 | 90);
        Path img = dir.resolve("gradient.jpg");
        javax.imageio.ImageIO.write(bi, "jpg", img.toFile());

        Run r = run("predict", "--model", "resnet18", "--weights", w.toString(), "--top", "3", "--json", img.toString());
        assertEquals(0, r.code(), r.err());
        Object top = Cli.at(r.json(), 0, "top");
        assertEquals(3, ((List<?>) top).size());
        int idx = (int) Cli.number(top, 0, "index");
        assertEquals(org.resnet4j.data.Presets.imagenetClasses().get(idx), Cli.at(top, 0, "class"));

        Path emb = dir.resolve("emb.safetensors");
        r = run("embed", "--model", "resnet18", "--weights", w.toString(), "--output", emb.toString(), img.toString(), img.toString());
        assertEquals(0, r.code(), r.err());
        var file = SafeTensors.read(emb);
        Tensor e = file.tensors().get("embeddings");
        assertTrue(e.hasShape(2, 512), e.shapeString());
        for (int i = 0; i < 512; i++) assertEquals(e.get(0, i), e.get(1, i), "same image, same embedding");
        assertTrue(file.metadata().get("images").contains("gradient.jpg"));

        r = run("predict", "--model", "resnet18", img.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--checkpoint C, or --model NAME and --weights W"), r.err());
    }

    @Test
    void trainRefusesBadValuesBeforeStarting() {
        Run r = run("train", "--data", "imagenet-please", "--epochs", "1", "--runs-dir", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown data 'imagenet-please'"), r.err());
        r = run("train", "--label-smoothing", "1.5", "--runs-dir", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("labelSmoothing"), r.err());
    }

    /** The Spark options are checked before Spark starts (the training itself: resnet4j-spark's SparkTrainingTest). */
    @Test
    void trainOnSparkRefusesWhatTheReplicasDoNotCompute() {
        Run r = run("train", "--sync-bn", "--epochs", "1", "--runs-dir", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--sync-bn needs --spark"), r.err());
        r = run("train", "--spark", "local[1]", "--mixup", "0.2", "--epochs", "1", "--runs-dir", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("not supported with --spark yet: --mixup"), r.err());
    }

    @Test
    void trainSegmentationWritesMetricsCurvesAndCheckpoints() throws Exception {
        Run r = run("train", "--task", "segmentation", "--model", "fcn_resnet18", "--data", "scenes", "--image-size", "64",
                "--epochs", "1", "--batch-size", "8", "--train-subset", "16", "--test-subset", "8", "--threads", "2",
                "--runs-dir", dir.toString(), "--name", "seg");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("done: test loss") && r.out().contains("mIoU"), r.out());
        Path run = dir.resolve("seg");
        String header = java.nio.file.Files.readAllLines(run.resolve("metrics.csv")).get(0);
        assertTrue(header.contains("test_miou") && header.contains("test_pixel_acc"), header);
        for (String f : new String[] {"loss.png", "miou.png", "metrics.jsonl", "predictions.png", "checkpoints/best.safetensors"}) {
            assertTrue(java.nio.file.Files.size(run.resolve(f)) > 0, f);
        }
        assertEquals(3 * (2 * 128 + 4 + 10), javax.imageio.ImageIO.read(run.resolve("predictions.png").toFile()).getWidth(),
                "three test images a row, truth beside prediction, 64 pixels drawn at 2x");
        // eval on the checkpoint: per-class IoU, and the mIoU the run logged for the same weights
        r = run("eval", "--checkpoint", run.resolve("checkpoints/best.safetensors").toString(), "--test-subset", "8");
        assertEquals(0, r.code(), r.err());
        double miou = org.resnet4j.train.MetricsLog.column(run, "test_miou")[0];
        assertTrue(r.out().contains("background") && r.out().contains("circle") && r.out().contains(" IoU"), r.out());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "mIoU %.2f%%", 100 * miou)), miou + "\n" + r.out());
    }

    @Test
    void trainDetectionWritesCurvesPredictionsAndEvalPrintsCocoSummary() throws Exception {
        Run r = run("train", "--task", "detection", "--model", "fcos_resnet18_fpn", "--data", "scenes", "--image-size", "64",
                "--epochs", "1", "--batch-size", "4", "--train-subset", "8", "--test-subset", "4", "--optimizer", "adamw", "--lr", "1e-3",
                "--threads", "2", "--runs-dir", dir.toString(), "--name", "det");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("done: test loss") && r.out().contains(" AP50 "), r.out());
        Path run = dir.resolve("det");
        String header = java.nio.file.Files.readAllLines(run.resolve("metrics.csv")).get(0);
        assertTrue(header.contains("test_ap") && header.contains("test_ap50") && header.contains("test_ap75"), header);
        for (String f : new String[] {"loss.png", "ap.png", "predictions.png", "checkpoints/best.safetensors"}) {
            assertTrue(java.nio.file.Files.size(run.resolve(f)) > 0, f);
        }
        assertEquals(4 * (256 + 10), javax.imageio.ImageIO.read(run.resolve("predictions.png").toFile()).getWidth(),
                "four test images side by side, 64 pixels drawn at 4x");
        r = run("eval", "--checkpoint", run.resolve("checkpoints/best.safetensors").toString(), "--test-subset", "4");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().lines().filter(l -> l.startsWith(" Average")).toArray(String[]::new);
        assertEquals(12, lines.length, r.out());
        double ap = org.resnet4j.train.MetricsLog.column(run, "test_ap")[0];
        assertEquals(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = "
                + String.format(java.util.Locale.ROOT, "%.3f", ap), lines[0], "the AP the run logged for these weights");
        assertTrue(lines[11].startsWith(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = "), lines[11]);
        r = run("eval", "--checkpoint", run.resolve("checkpoints/best.safetensors").toString(), "--test-subset", "4", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"task\":\"detection\"") && r.out().contains("\"test_ap50\":"), r.out());
    }
}
