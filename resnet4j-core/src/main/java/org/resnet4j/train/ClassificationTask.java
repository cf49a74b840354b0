package org.resnet4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.data.Batch;
import org.resnet4j.data.BatchTransform;
import org.resnet4j.data.CutMix;
import org.resnet4j.data.DataLoader;
import org.resnet4j.data.MixUp;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;

/**
 * Image classification: a {@link DataSources} source through a {@link DataLoader} (MixUp/CutMix
 * as batch transforms), cross-entropy with label smoothing and mixed targets, and
 * {@link Evaluation}'s loss, top-1 and top-5, top-1 picking the best checkpoint.
 */
public final class ClassificationTask implements Task {
    @Override
    public String name() {
        return "classification";
    }

    @Override
    public Run<Batch> open(TrainConfig c, Function<ModelConfig, Module> modelFactory, PrintStream out) throws IOException {
        DataSources.Source src = DataSources.open(c);
        ModelConfig mc = ModelConfig.defaults(src.classes()).withInChannels(src.channels())
                .withDropout((float) c.dropout).withZeroInitResidual(c.zeroInitResidual);
        Module model = modelFactory != null ? modelFactory.apply(mc) : Models.create(c.model, mc);
        if (c.weights != null) Transfer.loadBackbone(model, Path.of(c.weights), c.newHead, out);
        double wd = modelFactory == null && !Models.get(c.model).isCifar() ? 1e-4 : 5e-4;
        DataLoader train = new DataLoader(src.train(), src.trainTransform(), c.batchSize, true, c.seed, c.workers, 4, true);
        DataLoader test = new DataLoader(src.test(), src.testTransform(), Math.max(c.batchSize, 256), false, c.seed, c.workers, 4, false);
        // both: one of the two per batch, as timm / torchvision's RandomChoice recipe
        if (c.mixup > 0 && c.cutmix > 0) train.batchTransform(BatchTransform.randomChoice(new MixUp(c.mixup), new CutMix(c.cutmix)));
        else if (c.mixup > 0) train.batchTransform(new MixUp(c.mixup));
        else if (c.cutmix > 0) train.batchTransform(new CutMix(c.cutmix));
        train.onSkip(e -> out.println("skipped unreadable training image: " + e.getMessage()));
        test.onSkip(e -> out.println("skipped unreadable test image: " + e.getMessage()));
        return new Run<>() {
            @Override public Module model() { return model; }
            @Override public double defaultWeightDecay() { return wd; }

            @Override
            public String describe() {
                // a file's readability is known once it is decoded: the count comes after the first epoch
                return String.format(Locale.ROOT, "%s on %s: %d train / %d test %s, %d classes, %,d parameters, %d threads",
                        c.model, c.data, src.train().size(), src.test().size(),
                        Files.isDirectory(Path.of(c.data)) ? "files (unreadable ones are skipped and counted)" : "images",
                        src.classes(), model.parameterCount(), c.threads);
            }

            @Override public int trainSize() { return src.train().size(); }
            @Override public long batchesPerEpoch() { return train.batchesPerEpoch(); }
            @Override public Iterable<Batch> epoch(int epoch) { return train.epoch(epoch); }
            @Override public int size(Batch b) { return b.size(); }

            @Override
            public Step step(Module m, Batch b, TrainConfig cfg) {
                Variable logits = m.call(Variable.constant(b.images()));
                Variable loss = LossOps.crossEntropyMixed(logits, b.labels(), b.labelsB(), b.lambda(), (float) cfg.labelSmoothing);
                return new Step(loss, Evaluation.topk(logits.value(), b.labels())[0], b.size());
            }

            @Override
            public Scores evaluate(Module m) {
                return scores(Evaluation.run(m, test));
            }

            @Override public Map<String, Object> checkpointConfig() { return TrainedModel.checkpointConfig(c, src); }
            @Override public int skippedTrain() { return train.skippedIndices().size(); }
            @Override public int skippedTest() { return test.skippedIndices().size(); }

            @Override
            public String skippedSummary() {
                return ClassificationTask.skippedSummary(skippedTrain(), src.train().size(), skippedTest(), src.test().size());
            }

            @Override public DataSources.Source source() { return src; }

            @Override
            public void close() {
                try (train; test) {
                    // closes both loaders, the second even when the first fails
                }
            }
        };
    }

    /** An evaluation as the metrics rows log it: test_loss, test_top1, test_top5; top-1 is primary. */
    static Scores scores(Evaluation e) {
        LinkedHashMap<String, Double> cols = new LinkedHashMap<>();
        cols.put("test_loss", e.loss());
        cols.put("test_top1", e.top1());
        cols.put("test_top5", e.top5());
        String summary = String.format(Locale.ROOT, "test loss %.4f top-1 %.2f%% top-5 %.2f%%", e.loss(), 100 * e.top1(), 100 * e.top5());
        return new Scores(cols, e.top1(), summary, summary, e);
    }

    /** "" or the counts of unreadable files skipped. */
    static String skippedSummary(int train, int trainFiles, int test, int testFiles) {
        if (train == 0 && test == 0) return "";
        return String.format(Locale.ROOT, "%d of %d train files and %d of %d test files unreadable, skipped", train, trainFiles, test, testFiles);
    }
}
