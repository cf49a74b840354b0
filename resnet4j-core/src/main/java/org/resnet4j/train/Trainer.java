package org.resnet4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.data.DataLoader;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.BufferPool;

/**
 * The training loop: SGD or AdamW over the batches of a {@link Task} (classification over a
 * {@link DataLoader}, or segmentation), a per-iteration learning-rate schedule, optional
 * clipping, label smoothing, MixUp/CutMix and EMA; after each epoch the task's evaluation, a
 * metrics row (CSV and JSONL), curves (PNG) and an atomic checkpoint, the task's primary metric
 * picking the best one.
 *
 * <p>Given the same seed and thread count a run is deterministic: the data order and every
 * augmentation are functions of (seed, epoch, index), dropout masks of (seed, iteration), and the
 * kernels split work the same way each time. So a run resumed from its last checkpoint ends with
 * the same weights as one that was never interrupted.
 */
public final class Trainer {
    /** A non-finite loss: training stops, the last good checkpoint stays as it was. */
    public static final class DivergedException extends RuntimeException {
        public DivergedException(String message) {
            super(message);
        }
    }

    /**
     * What a finished run reports: {@code scores} the last evaluation whatever the task;
     * {@code test} and {@code source} are the classifier's evaluation and data (null for other
     * tasks).
     */
    public record Result(Module model, int epochs, Evaluation test, double trainLoss, double trainAccuracy,
                         double seconds, double imagesPerSecond, Path runDir, DataSources.Source source,
                         int skippedTrainFiles, int skippedTestFiles, Task.Scores scores, String skippedSummary) {
    }


    private final TrainConfig c;
    private final PrintStream out;
    /** Optional hook after every optimizer step (tests use it to interrupt a run). */
    private StepListener stepListener = (epoch, iteration) -> {};

    @FunctionalInterface
    public interface StepListener {
        void afterStep(int epoch, long iteration);
    }

    /**
     * Called with the model before training (epoch 0) and after each epoch's evaluation; the
     * source is the classifier's data (null for other tasks).
     */
    @FunctionalInterface
    public interface EpochListener {
        void onEpoch(int epochsDone, Module model, DataSources.Source source) throws IOException;
    }

    /**
     * Computes a step's gradient somewhere other than this loop, e.g. on data-parallel replicas
     * (resnet4j-spark): the loop then loads no training batches itself, and keeps everything
     * else (schedule, clipping, optimizer, EMA, evaluation, metrics, checkpoints and resume).
     */
    @FunctionalInterface
    public interface StepGradients {
        /**
         * Leaves on {@code model}'s parameters the gradient of the mean loss over the batch this
         * run's training loader gives as its {@code iteration}-th (from 0, over all epochs; it
         * falls in {@code epoch}), computed from the model's current weights, and in its buffers
         * the running statistics after the step's forward pass; the parameters hold no gradient
         * when it is called.
         */
        Computed compute(Module model, int epoch, long iteration) throws IOException;
    }

    /** One step as {@link StepGradients} computed it: the batch's mean loss, correct of counted predictions, and its size. */
    public record Computed(double loss, long correct, long counted, int size) {}

    private final List<EpochListener> epochListeners = new java.util.ArrayList<>();
    private StepGradients stepGradients;
    private TrainingProgress progress = TrainingProgress.NONE;
    private java.util.function.Function<ModelConfig, Module> modelFactory;

    /** Adds a listener called before training (epoch 0) and after each epoch's evaluation and checkpoint. */
    public Trainer onEpoch(EpochListener l) {
        epochListeners.add(java.util.Objects.requireNonNull(l, "listener"));
        return this;
    }

    /** Reports progress within each epoch here (default: nowhere). */
    public Trainer progress(TrainingProgress p) {
        this.progress = java.util.Objects.requireNonNull(p, "progress");
        return this;
    }

    private void epochDone(int epochsDone, Module model, DataSources.Source src) throws IOException {
        for (EpochListener l : epochListeners) l.onEpoch(epochsDone, model, src);
    }

    /** Steps with gradients computed by {@code g} (null: in this loop, the default). */
    public Trainer stepGradients(StepGradients g) {
        this.stepGradients = g;
        return this;
    }

    /** Builds the model with this factory instead of the registry (e.g. nets outside it). */
    public Trainer withModel(java.util.function.Function<ModelConfig, Module> factory) {
        this.modelFactory = factory;
        return this;
    }

    public Trainer(TrainConfig config, PrintStream out) {
        this.c = config;
        this.out = out;
    }

    public Trainer onStep(StepListener l) {
        this.stepListener = l;
        return this;
    }

    public Result fit() throws IOException {
        c.validate();
        Parallel.setThreads(c.threads);
        ImageDecoder.setMaxPixels(c.maxImagePixels);
        Init.manualSeed(c.seed);
        try (Task.Run<?> run = Tasks.of(c.task).open(c, modelFactory, out)) {
            return fit(run);
        }
    }

    /** The one training loop; {@code run} is the task's data, model, loss and evaluation. */
    private <B> Result fit(Task.Run<B> run) throws IOException {
        Module model = run.model();
        double wd = c.weightDecay != null ? c.weightDecay : run.defaultWeightDecay();
        // groups hold every parameter, frozen ones too (they get no gradient, so no step), so a
        // later unfreeze needs no new optimizer
        List<ParamGroup> groups = Transfer.groups(model, c.noDecayOnBnAndBias, c.headLrScale);
        if (!c.freeze.isEmpty()) model.freeze(c.freeze.toArray(String[]::new));
        if (c.freezeBn) Transfer.freezeBatchNorm(model);
        Optimizer opt = c.optimizer.equals("adamw") ? new AdamW(groups, c.lr, wd) : new SGD(groups, c.lr, c.momentum, 0, wd, c.nesterov);
        Ema ema = c.ema > 0 ? new Ema(model, c.ema, true) : null;
        List<Parameter> params = model.parameters();
        List<Dropout> dropouts = model.namedModules().values().stream()
                .filter(m -> m instanceof Dropout).map(m -> (Dropout) m).toList();
        DataSources.Source src = run.source();

        long itersPerEpoch = run.batchesPerEpoch();
        if (itersPerEpoch < 1) {
            throw new IllegalArgumentException("batch size " + c.batchSize + " is larger than the training set (" + run.trainSize() + ")");
        }
        long totalIters = itersPerEpoch * c.epochs;
        if (c.warmupEpochs > 0 && c.schedule.contains("+warmup")) {
            throw new IllegalArgumentException("warm-up given twice: --warmup-epochs " + c.warmupEpochs + " and schedule " + c.schedule);
        }
        // the parser sizes the main schedule to what follows the warm-up
        String spec = c.warmupEpochs > 0 ? c.schedule + "+warmup:" + c.warmupEpochs : c.schedule;
        LrSchedule schedule = LrSchedules.parse(spec, c.lr, totalIters, itersPerEpoch);

        Path runDir = c.runDir();
        Files.createDirectories(runDir);
        CheckpointManager ckpt = new CheckpointManager(runDir.resolve("checkpoints"), c.keepLast, true);
        Checkpoint.TrainState state = Checkpoint.TrainState.start(run.checkpointConfig(), new long[] {c.seed}, Map.of("spec", c.schedule));
        int startEpoch = 0;
        Optional<Path> resumeFrom = c.resume ? ckpt.resumeFile() : Optional.empty();
        if (!c.resume) clearCheckpoints(ckpt.dir()); // a fresh run never mixes with an older one's files
        if (c.resume && resumeFrom.isEmpty()) out.println("no checkpoint in " + ckpt.dir() + ": starting from scratch");
        if (resumeFrom.isPresent()) {
            Checkpoint.TrainState saved = Checkpoint.readState(resumeFrom.get());
            checkCompatible(saved.config(), resumeFrom.get());
            state = Checkpoint.load(resumeFrom.get(), model, opt, ema);
            startEpoch = (int) state.epoch();
            out.printf(Locale.ROOT, "resumed from %s: epoch %d done, iteration %d%n", resumeFrom.get(), startEpoch, state.iteration());
        }
        MetricsLog metrics = freshMetrics(runDir, startEpoch, resumeFrom.isPresent());
        Files.writeString(runDir.resolve("config.json"), c.toJson());

        out.println(run.describe());
        long iteration = state.iteration();
        double lastTrainLoss = Double.NaN, lastTrainAcc = Double.NaN;
        Task.Scores lastEval = null;
        long runStart = System.nanoTime(), imagesSeen = 0;
        java.io.Writer iterLog = null;
        try {
            if (c.logIterations) iterLog = openIterationLog(runDir.resolve("iterations.csv"), resumeFrom.isPresent() ? iteration : 0);
            if (startEpoch == 0) epochDone(0, model, src);
            for (int epoch = startEpoch; epoch < c.epochs; epoch++) {
                if (c.unfreezeAtEpoch > 0 && epoch + 1 >= c.unfreezeAtEpoch && !c.freeze.isEmpty()) {
                    model.unfreeze(c.freeze.toArray(String[]::new));
                    if (c.freezeBn) Transfer.freezeBatchNorm(model); // frozen BN stays frozen
                    if (epoch + 1 == c.unfreezeAtEpoch) out.println("epoch " + (epoch + 1) + ": unfreezing " + c.freeze);
                }
                model.train();
                long t0 = System.nanoTime();
                double lossSum = 0;
                long seen = 0, correct = 0, counted = 0;
                progress.start(String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, c.epochs), itersPerEpoch * c.batchSize);
                BufferPool buffers = new BufferPool(true); // backward gives activations back as it goes
                Iterable<?> batches = stepGradients != null ? steps(itersPerEpoch) : run.epoch(epoch);
                for (Object item : batches) {
                    double lr = schedule.lr(iteration);
                    opt.setLr(lr);
                    Computed st;
                    if (stepGradients != null) {
                        st = stepGradients.compute(model, epoch, iteration);
                        if (!Double.isFinite(st.loss())) throw diverged(st.loss(), epoch, iteration, lr, ckpt);
                    } else {
                        for (int i = 0; i < dropouts.size(); i++) dropouts.get(i).reseed(c.seed * 1_000_003L + iteration * 31 + i);
                        @SuppressWarnings("unchecked") B b = (B) item;
                        // activations and gradients reuse the previous step's buffers (valid until the next open)
                        try (var step = buffers.open()) {
                            Task.Step s = run.step(model, b, c);
                            float lv = s.loss().value().data()[0];
                            if (!Float.isFinite(lv)) throw diverged(lv, epoch, iteration, lr, ckpt);
                            s.loss().backward();
                            st = new Computed(lv, s.correct(), s.counted(), run.size(b));
                        }
                    }
                    if (c.clipNorm > 0) GradClip.byNorm(params, c.clipNorm);
                    if (c.clipValue > 0) GradClip.byValue(params, c.clipValue);
                    opt.step();
                    opt.zeroGrad();
                    if (ema != null) ema.update();
                    iteration++;
                    int n = st.size();
                    double lv = st.loss();
                    lossSum += lv * n;
                    correct += st.correct();
                    counted += st.counted();
                    seen += n;
                    if (iterLog != null) {
                        iterLog.write(String.format(Locale.ROOT, "%d,%.5f,%.5f,%.5f%n", iteration,
                                epoch + (double) seen / (itersPerEpoch * c.batchSize), (float) lv, 1 - (double) st.correct() / st.counted()));
                    }
                    progress.update(seen, counted > 0 ? String.format(Locale.ROOT, "loss %.4f acc %.1f%% lr %.3g", lossSum / seen, 100.0 * correct / counted, lr)
                            : String.format(Locale.ROOT, "loss %.4f lr %.3g", lossSum / seen, lr)); // a detector has no accuracy
                    stepListener.afterStep(epoch, iteration);
                }
                double trainSecs = (System.nanoTime() - t0) / 1e9;
                imagesSeen += seen;
                lastTrainLoss = lossSum / seen;
                lastTrainAcc = counted > 0 ? (double) correct / counted : Double.NaN;
                lastEval = evaluate(run, model, ema);
                out.printf(Locale.ROOT, "epoch %d/%d  train loss %.4f%s  %s  %.0f img/s  %s%n", epoch + 1, c.epochs, lastTrainLoss,
                        counted > 0 ? String.format(Locale.ROOT, " acc %.2f%%", 100 * lastTrainAcc) : "", lastEval.summary(), seen / trainSecs,
                        TrainingProgress.clock(trainSecs));
                LinkedHashMap<String, Object> row = new LinkedHashMap<>();
                row.put("epoch", epoch + 1);
                row.put("iteration", iteration);
                row.put("lr", schedule.lr(Math.max(0, iteration - 1)));
                row.put("train_loss", lastTrainLoss);
                if (counted > 0) row.put("train_acc", lastTrainAcc); // a detector has none (and JSON has no NaN)
                row.putAll(lastEval.columns());
                row.put("seconds", trainSecs);
                row.put("images_per_s", seen / trainSecs);
                row.put("skipped_train", run.skippedTrain());
                row.put("skipped_test", run.skippedTest());
                metrics.append(row);
                if (epoch == startEpoch) {
                    String skipped = run.skippedSummary();
                    if (!skipped.isEmpty()) out.println("first pass over the data: " + skipped);
                }
                state = ckpt.save(model, opt, ema, state.withProgress(epoch + 1, iteration, new long[] {c.seed}), lastEval.primary()).state();
                if (iterLog != null) iterLog.flush();
                epochDone(epoch + 1, model, src);
            }
        } finally {
            if (iterLog != null) iterLog.close(); // also when a diverging loss ends the run
        }
        double secs = (System.nanoTime() - runStart) / 1e9;
        if (lastEval == null) {
            lastEval = evaluate(run, model, ema);
            out.println("nothing left to train: " + c.epochs + " epochs were already done");
        }
        Result r = new Result(model, c.epochs, lastEval.classification(), lastTrainLoss, lastTrainAcc, secs, imagesSeen / Math.max(secs, 1e-9), runDir, src,
                run.skippedTrain(), run.skippedTest(), lastEval, run.skippedSummary());
        if (!r.skippedSummary().isEmpty()) out.println(r.skippedSummary());
        return r;
    }

    /** The steps of an epoch when {@link StepGradients} computes them: only their count matters. */
    private static Iterable<Long> steps(long count) {
        return () -> java.util.stream.LongStream.range(0, count).boxed().iterator();
    }

    private static DivergedException diverged(double loss, int epoch, long iteration, double lr, CheckpointManager ckpt) throws IOException {
        Path last = ckpt.resumeFile().orElse(null);
        return new DivergedException(String.format(Locale.ROOT,
                "loss became %s at epoch %d, iteration %d (lr %.4g); stopped. %s", (float) loss, epoch + 1, iteration, lr,
                last == null ? "No checkpoint was written yet."
                        : "Last good checkpoint: " + last + " (epoch " + Checkpoint.readState(last).epoch() + ")."));
    }

    /** The task's evaluation, on the averaged weights when the run keeps an EMA. */
    private static Task.Scores evaluate(Task.Run<?> run, Module model, Ema ema) {
        return ema != null ? ema.withAveragedWeights(() -> run.evaluate(model)) : run.evaluate(model);
    }

    /** iterations.csv with exactly the rows up to {@code keepUpTo} (a killed epoch's rows are redone, a torn line dropped). */
    private static java.io.Writer openIterationLog(Path f, long keepUpTo) throws IOException {
        List<String> keep = new java.util.ArrayList<>();
        keep.add("iteration,epoch,train_loss,train_err");
        if (keepUpTo > 0 && Files.exists(f)) {
            for (String line : Files.readAllLines(f)) {
                String[] parts = line.split(",");
                if (parts.length == 4 && parts[0].matches("\\d+") && Long.parseLong(parts[0]) <= keepUpTo) keep.add(line); // rows are numbered from 1
            }
        }
        Files.write(f, keep);
        return Files.newBufferedWriter(f, java.nio.file.StandardOpenOption.APPEND);
    }

    private static void clearCheckpoints(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String n = p.getFileName().toString();
                if (n.equals(CheckpointManager.LAST) || n.equals(CheckpointManager.BEST) || n.matches("epoch-\\d+\\.safetensors")) Files.delete(p);
            }
        }
    }

    /** Keys a resumed run may change: they do not alter the computation (threads only its bit pattern). */
    private static final java.util.Set<String> FREE_ON_RESUME = java.util.Set.of("threads", "workers", "runsDir", "name", "resume", "keepLast");

    /** A resumed run must continue the same recipe: any other difference is refused, naming the keys. */
    private void checkCompatible(Map<String, Object> saved, Path file) {
        Object threads = saved.get("threads");
        if (threads != null && ((Number) threads).intValue() != c.threads) {
            out.println("note: " + file + " was written with " + threads + " threads, this run has " + c.threads
                    + "; results stay correct but are not bit-identical to an uninterrupted run");
        }
        Map<String, Object> now = c.toMap();
        List<String> diffs = new java.util.ArrayList<>();
        for (var e : now.entrySet()) {
            if (FREE_ON_RESUME.contains(e.getKey()) || !saved.containsKey(e.getKey())) continue;
            Object was = saved.get(e.getKey()), is = e.getValue();
            boolean same = String.valueOf(was).equals(String.valueOf(is))
                    || (was instanceof Number a && is instanceof Number b && a.doubleValue() == b.doubleValue());
            if (!same) diffs.add(e.getKey() + "=" + was + " (this run: " + is + ")");
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(file + " was written with " + String.join(", ", diffs)
                    + "; resume with the same settings or start another run with --name");
        }
    }

    private static MetricsLog freshMetrics(Path runDir, int startEpoch, boolean resumed) throws IOException {
        if (!resumed) {
            Files.deleteIfExists(runDir.resolve("metrics.csv"));
            Files.deleteIfExists(runDir.resolve("metrics.jsonl"));
        }
        MetricsLog m = new MetricsLog(runDir);
        if (resumed) m.truncateFrom(startEpoch + 1);
        return m;
    }
}
