package org.resnet4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.nn.Module;

/**
 * What differs between training a classifier and a dense model; {@link Trainer} owns everything
 * else (optimizer, schedule, warm-up, clipping, EMA, checkpoints and exact resume, metrics,
 * progress). A task opens a {@link Run} for a config: its data in batches, its model, the loss of
 * one batch and the evaluation, whose primary metric picks the best checkpoint. {@link Tasks#of}
 * names them.
 */
public interface Task {
    /** The name a config's {@code task} field gives, e.g. "classification". */
    String name();

    /**
     * Opens the data and builds the model of a run. {@code modelFactory} (may be null) replaces
     * the registry for tasks that build from {@link ModelConfig}.
     */
    Run<?> open(TrainConfig c, Function<ModelConfig, Module> modelFactory, PrintStream out) throws IOException;

    /**
     * Opens a run whose model will be given a checkpoint's weights (evaluation): as {@link #open},
     * but without loading the config's {@code weights} (the checkpoint holds every weight, and the
     * file a run started from may be gone). The model is built as training built it.
     */
    default Run<?> openForEvaluation(TrainConfig c, PrintStream out) throws IOException {
        TrainConfig copy = TrainConfig.fromMap(c.toMap());
        copy.weights = null;
        return open(copy, null, out);
    }

    /**
     * The loss of one batch and the counts behind the running accuracy the progress line shows:
     * {@code correct} of {@code counted} (images for a classifier, scored pixels for a segmenter;
     * 0 of 0 for a detector, which has no accuracy to show).
     */
    record Step(Variable loss, long correct, long counted) {}

    /**
     * An evaluation: {@code columns} are the metrics rows' test columns in order (e.g.
     * test_loss, test_top1, test_top5), {@code primary} the higher-is-better value that picks the
     * best checkpoint, {@code summary} the words the epoch line prints, {@code report} the full
     * report {@code resnet4j eval} prints (several lines: COCO's summary for a detector, per-class
     * IoU for a segmenter), {@code classification} the classifier's evaluation (null for other tasks).
     */
    record Scores(LinkedHashMap<String, Double> columns, double primary, String summary, String report, Evaluation classification) {
        /** A column by name, or an error naming the ones there are. */
        public double get(String column) {
            Double v = columns.get(column);
            if (v == null) throw new IllegalArgumentException("no metric '" + column + "' (have " + columns.keySet() + ")");
            return v;
        }
    }

    /**
     * One run's data and model. The batches of an epoch are a pure function of (seed, epoch), so
     * a resumed run sees what an uninterrupted one would have.
     *
     * @param <B> the batch type
     */
    interface Run<B> extends AutoCloseable {
        /** The model, its weights initialized or loaded. */
        Module model();

        /** Weight decay when the config leaves it unset. */
        double defaultWeightDecay();

        /** The first line a run prints: model, data, sizes, classes. */
        String describe();

        /** Training examples (images). */
        int trainSize();

        /** Full batches per epoch (the last incomplete one is dropped). */
        long batchesPerEpoch();

        /** The batches of epoch {@code epoch}, in order. */
        Iterable<B> epoch(int epoch);

        /** Examples in a batch. */
        int size(B batch);

        /**
         * The loss of one batch in training mode, with the statistics taken before backward
         * (which gives the activations' buffers back).
         */
        Step step(Module model, B batch, TrainConfig c);

        /** Evaluation on the test split, in eval mode with no graph recorded. */
        Scores evaluate(Module model);

        /** The config map a checkpoint stores: the run's config plus what rebuilding the model needs. */
        Map<String, Object> checkpointConfig();

        /** Distinct unreadable training files skipped so far. */
        int skippedTrain();

        /** Distinct unreadable test files skipped so far. */
        int skippedTest();

        /** "" or e.g. "3 of 63 train files and 1 of 20 test files unreadable, skipped". */
        String skippedSummary();

        /** The classifier's data source (for epoch listeners); null for other tasks. */
        DataSources.Source source();

        @Override
        void close();
    }
}
