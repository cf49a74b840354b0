package org.resnet4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
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
    @Option(names = "--task", description = "classification (default) | segmentation (models fcn_*/deeplabv3_*, data scenes or voc:DIR).") String task;
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
    @Option(names = "--image-size", description = "ImageFolder crop size (default 224); segmentation base size (default 128).") Integer imageSize;
    @Option(names = "--aux-loss", description = "Segmentation: also train the auxiliary head on layer3, loss weight 0.5.") Boolean auxLoss;
    @Option(names = "--seed") Long seed;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--workers", description = "Data loading threads (default 2).") Integer workers;
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
        // left at ImageNet's crop, segmentation takes a base size for CPU training: 128 (the reference's is 520)
        else if (c.task.equals("segmentation") && c.imageSize == new TrainConfig().imageSize) c.imageSize = 128;
        if (auxLoss != null) c.auxLoss = auxLoss;
        if (seed != null) c.seed = seed;
        if (threads != null) c.threads = threads;
        if (workers != null) c.workers = workers;
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

    @Override
    public Integer call() throws Exception {
        TrainConfig c = build();
        {
            Trainer.Result r = CurvePlots.reportingTrainer(c, System.out).fit();
            if (r.test() != null) {
                System.out.printf(Locale.ROOT, "done: test top-1 %.2f%%, top-5 %.2f%% after %d epochs, %s, %.0f img/s%n",
                        100 * r.test().top1(), 100 * r.test().top5(), r.epochs(), org.resnet4j.report.Progress.clock(r.seconds()), r.imagesPerSecond());
            } else {
                System.out.printf(Locale.ROOT, "done: %s after %d epochs, %s, %.0f img/s%n",
                        r.scores().summary(), r.epochs(), org.resnet4j.report.Progress.clock(r.seconds()), r.imagesPerSecond());
            }
            if (!r.skippedSummary().isEmpty()) System.out.println("data: " + r.skippedSummary() + " (listed above; counts in metrics.csv)");
            System.out.println("metrics, curves and checkpoints: " + r.runDir());
            return 0;
        }
    }
}
