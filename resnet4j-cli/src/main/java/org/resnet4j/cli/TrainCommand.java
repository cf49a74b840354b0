package org.resnet4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.ArrayList;
import java.util.List;
import org.resnet4j.data.dense.DenseExample;
import org.resnet4j.data.dense.DenseTarget;
import org.resnet4j.detection.Detections;
import org.resnet4j.detection.Fcos;
import org.resnet4j.report.DetectionGrid;
import org.resnet4j.report.SegmentationGrid;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.train.SegmentationTask;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.DetectionTask;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.report.CurvePlots;
import org.resnet4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a model; metrics, curves and checkpoints go to RUNS/NAME.",
                "Defaults: SGD lr 0.1, momentum 0.9, batch 128 (He et al. 2015), weight decay 5e-4 for CIFAR-size nets (common practice;",
                "the paper used 1e-4) and 1e-4 otherwise, cosine decay."})
class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", description = "JSON or YAML file with the same keys as the flags (camelCase, e.g. batchSize); flags override it.")
    Path config;
    @Option(names = "--task", description = "classification (default) | segmentation (models fcn_*/deeplabv3_*, data scenes or voc:DIR) | detection (fcos_resnet18_fpn/fcos_resnet50_fpn/fcos_resnet18w32_fpn, data scenes or coco:DIR).") String task;
    @Option(names = "--model", description = "Model name (default resnet20).") String model;
    @Option(names = "--data", description = "shapes | fashion-mnist | mnist | cifar10 | cifar100 | DIR with train/ and val/ class folders (default shapes).") String data;
    @Option(names = "--data-dir", description = "Where mnist/cifar files are (fashion-mnist: $RESNET4J_DATA or Debian's dataset-fashion-mnist).") String dataDir;
    @Option(names = "--epochs") Integer epochs;
    @Option(names = "--batch-size") Integer batchSize;
    @Option(names = "--optimizer", description = "sgd | adamw") String optimizer;
    @Option(names = "--lr") Double lr;
    @Option(names = "--momentum") Double momentum;
    @Option(names = "--nesterov", negatable = true) Boolean nesterov;
    @Option(names = "--weight-decay") Double weightDecay;
    @Option(names = "--no-decay-bn-bias", description = "No weight decay on BN parameters and biases.") Boolean noDecay;
    @Option(names = "--schedule", description = "constant | cosine[:ETA_MIN] | step:EPOCHS:GAMMA | multistep:E1,E2:GAMMA | onecycle | poly[:POWER], each optionally +warmup:EPOCHS") String schedule;
    @Option(names = "--warmup-epochs") Double warmup;
    @Option(names = "--label-smoothing") Double labelSmoothing;
    @Option(names = "--clip-norm", description = "Clip the global gradient norm (0: off).") Double clipNorm;
    @Option(names = "--clip-value", description = "Clip each gradient entry (0: off).") Double clipValue;
    @Option(names = "--dropout", description = "Dropout before the classifier.") Double dropout;
    @Option(names = "--ema", description = "EMA decay of the weights used for evaluation, e.g. 0.999 (0: off).") Double ema;
    @Option(names = "--augment", description = "standard | none") String augment;
    @Option(names = "--mixup", description = "MixUp alpha (0: off).") Double mixup;
    @Option(names = "--cutmix", description = "CutMix alpha (0: off).") Double cutmix;
    @Option(names = "--random-erasing", description = "Random erasing probability (0: off).") Double randomErasing;
    @Option(names = "--zero-init-residual", negatable = true) Boolean zeroInit;
    @Option(names = "--train-subset", description = "Use K training images drawn at random, seeded (0: all).") Integer trainSubset;
    @Option(names = "--test-subset", description = "Use K test images drawn at random, seeded (0: all).") Integer testSubset;
    @Option(names = "--classes", split = ",", description = "Keep only these classes (names or 0-based indices), relabelled in the order given, e.g. 5,6,7,8,9.") java.util.List<String> classes;
    @Option(names = "--new-head", description = "Re-initialize the classifier even when the loaded one fits (new classes of the same count).") Boolean newHead;
    @Option(names = "--image-size", description = "ImageFolder crop size (default 224); segmentation base size and detection min_size (default 128).") Integer imageSize;
    @Option(names = "--aux-loss", description = "Segmentation: also train the auxiliary head on layer3, loss weight 0.5.") Boolean auxLoss;
    @Option(names = "--seed") Long seed;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--workers", description = "Data loading threads (default 2); with --spark, model replicas (default: Spark's default parallelism).") Integer workers;
    @Option(names = "--spark", paramLabel = "MASTER", description = "Train data-parallel on Spark: local[N], spark://HOST:PORT, ... or - for the master spark-submit set "
            + "(Spark's jars must be on the class path: ./resnet4j adds them).") String spark;
    @Option(names = "--sync-bn", description = "With --spark: batch norm over the whole global batch (SyncBatchNorm), as one machine.") boolean syncBn;
    @Option(names = "--runs-dir", description = "Parent folder of runs (default runs).") String runsDir;
    @Option(names = "--name", description = "Run name (default MODEL-DATA).") String name;
    @Option(names = "--keep-last", description = "Epoch checkpoints to keep (default 2).") Integer keepLast;
    @Option(names = "--resume", description = "Continue from RUNS/NAME/checkpoints/last.safetensors.") boolean resume;
    @Option(names = "--weights", description = "Start from this state_dict (.pth or .safetensors); a head of another size is replaced.") String weights;
    @Option(names = "--freeze", split = ",", description = "Parameter prefixes to freeze, e.g. conv1,bn1,layer1.") java.util.List<String> freeze;
    @Option(names = "--freeze-bn", description = "Keep batch norms on their loaded statistics.") Boolean freezeBn;
    @Option(names = "--head-lr-scale", description = "Learning-rate multiplier of the new head (default 1).") Double headLrScale;
    @Option(names = "--max-image-pixels", description = "Refuse images whose header declares more pixels (default 89478485, PIL's limit).") Long maxImagePixels;
    @Option(names = "--unfreeze-at", description = "Epoch at which the frozen layers start training (0: never).") Integer unfreezeAt;

    TrainConfig build() throws Exception {
        TrainConfig c = config != null ? ConfigFiles.read(config) : new TrainConfig();
        if (task != null) c.task = task;
        if (model != null) c.model = model;
        if (data != null) c.data = data;
        if (dataDir != null) c.dataDir = dataDir;
        if (epochs != null) c.epochs = epochs;
        if (batchSize != null) c.batchSize = batchSize;
        if (optimizer != null) c.optimizer = optimizer;
        if (lr != null) c.lr = lr;
        if (momentum != null) c.momentum = momentum;
        if (nesterov != null) c.nesterov = nesterov;
        if (weightDecay != null) c.weightDecay = weightDecay;
        if (noDecay != null) c.noDecayOnBnAndBias = noDecay;
        if (schedule != null) c.schedule = schedule;
        if (warmup != null) c.warmupEpochs = warmup;
        if (labelSmoothing != null) c.labelSmoothing = labelSmoothing;
        if (clipNorm != null) c.clipNorm = clipNorm;
        if (clipValue != null) c.clipValue = clipValue;
        if (dropout != null) c.dropout = dropout;
        if (ema != null) c.ema = ema;
        if (augment != null) c.augment = augment;
        if (mixup != null) c.mixup = mixup;
        if (cutmix != null) c.cutmix = cutmix;
        if (randomErasing != null) c.randomErasing = randomErasing;
        if (zeroInit != null) c.zeroInitResidual = zeroInit;
        if (trainSubset != null) c.trainSubset = trainSubset;
        if (testSubset != null) c.testSubset = testSubset;
        if (classes != null) c.classes = classes;
        if (newHead != null) c.newHead = newHead;
        if (imageSize != null) c.imageSize = imageSize;
        // left at ImageNet's crop, dense tasks take a size for CPU training: 128 (the references' are
        // 520 for segmentation's base and 800 for detection's min_size)
        else if ((c.task.equals("segmentation") || c.task.equals("detection")) && c.imageSize == new TrainConfig().imageSize) c.imageSize = 128;
        if (auxLoss != null) c.auxLoss = auxLoss;
        if (seed != null) c.seed = seed;
        if (threads != null) c.threads = threads;
        if (workers != null && spark == null) c.workers = workers;
        if (runsDir != null) c.runsDir = runsDir;
        if (name != null) c.name = name;
        if (keepLast != null) c.keepLast = keepLast;
        if (resume) c.resume = true;
        if (weights != null) c.weights = weights;
        if (freeze != null) c.freeze = freeze;
        if (freezeBn != null) c.freezeBn = freezeBn;
        if (headLrScale != null) c.headLrScale = headLrScale;
        if (unfreezeAt != null) c.unfreezeAtEpoch = unfreezeAt;
        if (maxImagePixels != null) c.maxImagePixels = maxImagePixels;
        return c;
    }

    /** Scores the grid shows: the evaluation keeps everything above the model's 0.2, which would bury the images. */
    static final float GRID_SCORE = 0.5f;

    /** The detections scoring at least {@link #GRID_SCORE} (they come best first). */
    static Detections confident(Detections d) {
        int k = 0;
        while (k < d.size() && d.scores().data()[k] >= GRID_SCORE) k++;
        return new Detections(Tensor.of(java.util.Arrays.copyOf(d.boxes().data(), 4 * k), k, 4),
                Tensor.of(java.util.Arrays.copyOf(d.scores().data(), k), k), java.util.Arrays.copyOf(d.labels(), k));
    }

    /** The detector's counterpart of the demo's grid: 16 test images with their confident detections over the ground truth. */
    static void predictionGrid(TrainConfig c, Fcos model, Path file) throws java.io.IOException {
        DetectionTask.Sample s = DetectionTask.testSample(c, 16);
        model.eval();
        List<Tensor> images = new ArrayList<>();
        List<DenseTarget> truths = new ArrayList<>();
        List<Detections> dets = new ArrayList<>();
        for (DenseExample e : s.examples()) {
            images.add(e.image());
            truths.add(e.target());
            dets.add(confident(model.detect(List.of(e.image())).getFirst()));
        }
        if (!images.isEmpty()) DetectionGrid.save(file, images, dets, truths, s.classes(), 4);
    }

    /** The segmenter's grid: 12 test images, the ground truth's overlay beside the prediction's. */
    static void segmentationGrid(TrainConfig c, SegmentationModel model, Path file) throws java.io.IOException {
        SegmentationTask.Sample s = SegmentationTask.testSample(c, 12);
        model.eval();
        List<Tensor> images = new ArrayList<>();
        List<int[]> truths = new ArrayList<>(), predicted = new ArrayList<>();
        for (DenseExample e : s.examples()) {
            images.add(e.image());
            truths.add(e.target().semantic());
            predicted.add(SegmentationTask.predict(model, e.image()));
        }
        if (!images.isEmpty()) SegmentationGrid.save(file, images, truths, predicted, 3);
    }

    @Override
    public Integer call() throws Exception {
        TrainConfig c = build();
        if (syncBn && spark == null) throw new IllegalArgumentException("--sync-bn needs --spark (one machine's batch norm already sees the whole batch)");
        if (spark != null && workers != null && workers < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
        {
            Trainer.Result r = spark != null ? SparkTrain.fit(c, spark, workers, syncBn) : CurvePlots.reportingTrainer(c, System.out).fit();
            if (r.test() != null) {
                System.out.printf(Locale.ROOT, "done: test top-1 %.2f%%, top-5 %.2f%% after %d epochs, %s, %.0f img/s%n",
                        100 * r.test().top1(), 100 * r.test().top5(), r.epochs(), org.resnet4j.report.Progress.clock(r.seconds()), r.imagesPerSecond());
            } else {
                System.out.printf(Locale.ROOT, "done: %s after %d epochs, %s, %.0f img/s%n",
                        r.scores().summary(), r.epochs(), org.resnet4j.report.Progress.clock(r.seconds()), r.imagesPerSecond());
            }
            if (!r.skippedSummary().isEmpty()) System.out.println("data: " + r.skippedSummary() + " (listed above; counts in metrics.csv)");
            if (c.task.equals("detection") || c.task.equals("segmentation")) {
                Path grid = r.runDir().resolve("predictions.png");
                if (c.task.equals("detection")) predictionGrid(c, (Fcos) r.model(), grid);
                else segmentationGrid(c, (SegmentationModel) r.model(), grid);
                System.out.println("predictions: " + grid);
            }
            System.out.println("metrics, curves and checkpoints: " + r.runDir());
            return 0;
        }
    }
}
