package org.resnet4j.cli;

import org.resnet4j.io.json.Json;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.data.DataLoader;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.train.CheckpointEvaluation;
import org.resnet4j.train.DataSources;
import org.resnet4j.train.Evaluation;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a training checkpoint on a data set's test split: a classifier's loss, top-1 and top-5;",
                "a detector's COCO box AP and AR (pycocotools' 12 figures, in its layout); a segmenter's per-class IoU, mIoU and pixel accuracy."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "A checkpoint written by `resnet4j train` (e.g. runs/NAME/checkpoints/best.safetensors).")
    Path checkpoint;
    @Option(names = "--data", description = "Data source (default: the one the model was trained on).") String data;
    @Option(names = "--data-dir") String dataDir;
    @Option(names = "--batch-size", description = "Default: 256 for a classifier, the training run's for a dense model.") Integer batchSize;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--test-subset", defaultValue = "0", description = "Evaluate on K test images drawn at random, seeded (default: all).") int testSubset;
    @Option(names = "--json") boolean json;

    @Option(names = "--max-image-pixels", defaultValue = "89478485",
            description = "Refuse images whose header declares more pixels (default ${DEFAULT-VALUE}, PIL's MAX_IMAGE_PIXELS).") long maxImagePixels;

    @Override
    public Integer call() throws Exception {
        org.resnet4j.data.ImageDecoder.setMaxPixels(maxImagePixels);
        if (threads != null) Parallel.setThreads(threads);
        String task = CheckpointEvaluation.task(checkpoint);
        if (!task.equals("classification")) return dense();
        TrainedModel tm = TrainedModel.load(checkpoint);
        TrainConfig c = tm.config();
        if (data != null) c.data = data;
        if (dataDir != null) c.dataDir = dataDir;
        c.trainSubset = 0;
        c.testSubset = testSubset; // the whole split unless asked, whatever the training run used
        DataSources.Source src = DataSources.open(c);
        if (src.classes() != tm.classes().size() || src.channels() != tm.inChannels()) {
            throw new IllegalArgumentException(c.data + " has " + src.classes() + " classes and " + src.channels() + " channels; "
                    + checkpoint + " expects " + tm.classes().size() + " and " + tm.inChannels());
        }
        Evaluation e;
        int skipped;
        try (DataLoader test = new DataLoader(src.test(), src.testTransform(), batchSize != null ? batchSize : 256, false, 0, 2, 4, false)) {
            e = Evaluation.run(tm.model(), test);
            skipped = test.skippedIndices().size(); // each was named as it was met
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("checkpoint", checkpoint.toString());
            m.put("data", c.data);
            m.put("examples", e.examples());
            m.put("loss", e.loss());
            m.put("top1", e.top1());
            m.put("top5", e.top5());
            m.put("skipped", skipped);
            System.out.println(Json.write(m));
        } else {
            System.out.printf(Locale.ROOT, "%s on %s test (%d images%s): loss %.4f  top-1 %.2f%%  top-5 %.2f%%%n", c.model, c.data,
                    e.examples(), tm.ema() ? ", EMA weights" : "", e.loss(), 100 * e.top1(), 100 * e.top5());
            if (skipped > 0) System.out.printf(Locale.ROOT, "%d of %d test files unreadable, skipped%n", skipped, src.test().size());
        }
        return 0;
    }

    /** A detector or segmenter: the task's own evaluation, as during training, with its full report. */
    private int dense() throws Exception {
        java.io.ByteArrayOutputStream notes = new java.io.ByteArrayOutputStream();
        CheckpointEvaluation e = CheckpointEvaluation.run(checkpoint, data, testSubset, batchSize, new java.io.PrintStream(notes, true));
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("checkpoint", checkpoint.toString());
            m.put("task", e.config().task);
            m.put("data", e.config().data);
            m.putAll(e.scores().columns());
            m.put("skipped", e.skipped());
            System.out.println(Json.write(m));
        } else {
            System.out.print(notes); // what was skipped, named
            System.out.printf(Locale.ROOT, "%s on %s test%s:%n", e.config().model, e.config().data, e.ema() ? " (EMA weights)" : "");
            System.out.println(e.scores().report().stripTrailing());
            if (!e.skipped().isEmpty()) System.out.println(e.skipped());
        }
        return 0;
    }
}
