package org.resnet4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.io.WeightsFormatException;

/**
 * A dense model's training checkpoint (segmentation or detection) evaluated on its data's test
 * split, by the same task code that evaluated it during training: the run's config rebuilds the
 * model and opens the data ({@link Task#openForEvaluation}), the checkpoint's evaluated weights
 * (the EMA's when the run kept one) are loaded strictly, and the task's evaluation scores them.
 * Classifiers go through {@link TrainedModel} and {@link Evaluation}.
 *
 * @param config the run's config, with the data and test subset evaluated
 * @param scores the task's evaluation (its {@code report} is what {@code resnet4j eval} prints)
 * @param skipped what was skipped ("" when nothing)
 * @param ema whether the weights are the run's moving average
 */
public record CheckpointEvaluation(TrainConfig config, Task.Scores scores, String skipped, boolean ema) {
    /** The task a checkpoint was trained for ("classification" for checkpoints older than tasks). */
    public static String task(Path checkpoint) throws IOException {
        Object t = Checkpoint.readState(checkpoint).config().get("task");
        return t == null ? "classification" : t.toString();
    }

    /**
     * Evaluates {@code checkpoint} on {@code data} (null: the data it was trained on), all of the
     * test split unless {@code testSubset} > 0; {@code batchSize} null keeps the run's.
     */
    public static CheckpointEvaluation run(Path checkpoint, String data, int testSubset, Integer batchSize, PrintStream out) throws IOException {
        SafeTensors.Contents contents = SafeTensors.read(checkpoint);
        Map<String, Object> cfg = new LinkedHashMap<>(Checkpoint.readState(checkpoint).config());
        Object classes = cfg.remove(TrainedModel.CLASSES);
        cfg.remove(TrainedModel.IN_CHANNELS);
        cfg.remove(TrainedModel.IMAGE_SIZE);
        if (!(classes instanceof List<?> names)) throw new WeightsFormatException(checkpoint + ": not a resnet4j training checkpoint (no class names in its config)");
        TrainConfig c = TrainConfig.fromMap(cfg);
        if (c.task.equals("classification")) throw new IllegalArgumentException(checkpoint + ": a classifier; evaluate it with TrainedModel and Evaluation");
        if (data != null) c.data = data;
        c.testSubset = testSubset; // the whole split unless asked, whatever the training run used
        if (batchSize != null) c.batchSize = batchSize;
        c.resume = false;
        try (Task.Run<?> run = Tasks.of(c.task).openForEvaluation(c, out)) {
            List<?> have = run.checkpointConfig().get(TrainedModel.CLASSES) instanceof List<?> l ? l : List.of();
            if (!have.equals(names)) {
                throw new IllegalArgumentException(c.data + " has the classes " + have + "; " + checkpoint + " was trained on " + names);
            }
            try {
                run.model().loadStateDict(Checkpoint.evaluatedWeights(contents), true);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(checkpoint + ": " + e.getMessage(), e);
            }
            Task.Scores s = run.evaluate(run.model());
            return new CheckpointEvaluation(c, s, run.skippedSummary(), Checkpoint.hasEma(contents));
        }
    }
}
