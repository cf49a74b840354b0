package org.resnet4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.data.Normalize;
import org.resnet4j.data.SyntheticScenes;
import org.resnet4j.data.dense.DenseDataset;
import org.resnet4j.data.dense.DenseTarget;
import org.resnet4j.data.dense.DenseTransform;
import org.resnet4j.data.dense.DenseTransforms;
import org.resnet4j.data.dense.SceneDataset;
import org.resnet4j.data.dense.VocSegmentation;
import org.resnet4j.metrics.ConfusionMatrix;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.nn.Inference;
import org.resnet4j.nn.Module;
import org.resnet4j.segmentation.Masks;
import org.resnet4j.segmentation.SegmentationLoss;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;

/**
 * Semantic segmentation with torchvision's references/segmentation/train.py recipe, scaled to the
 * config's image size (the reference's base 520, crop 480): training images resized at random so
 * the shorter side is in [0.5, 2.0] x base, flipped, cropped to the crop size (masks padded with
 * 255), ImageNet-normalised; evaluation at base. The loss is {@link SegmentationLoss} (out plus
 * 0.5 aux with {@code auxLoss}); the evaluation a confusion matrix over the scored pixels, giving
 * pixel accuracy and mean IoU, which picks the best checkpoint.
 *
 * <p>Data: {@code scenes} ({@link SyntheticScenes} at the image size, train and test from
 * different seeds, {@code shapesTrain} / {@code shapesTest} of them; 7 mask classes, 0 the
 * background) or {@code voc:DIR} (a VOC-layout folder's train and val splits).
 */
public final class SegmentationTask implements Task {
    /** The reference's crop / base ratio, 480 / 520. */
    static final double CROP_RATIO = 480.0 / 520.0;

    @Override
    public String name() {
        return "segmentation";
    }

    @Override
    public Run<DenseLoader.DenseBatch> open(TrainConfig c, Function<ModelConfig, Module> modelFactory, PrintStream out) throws IOException {
        refuseClassificationOptions(c, modelFactory);
        int base = c.imageSize, crop = Math.max(1, (int) Math.round(base * CROP_RATIO));
        Data d = data(c);
        DenseDataset train = d.train(), test = d.test();
        List<String> classes = d.classes();
        boolean equalSizes = d.equalSizes();
        SegmentationModel model = SegmentationModels.create(c.model, new SegmentationModels.Config(classes.size(), c.auxLoss, 3));
        if (c.weights != null) SegmentationWeights.loadImageNetBackbone(model, Path.of(c.weights));

        DenseTransform norm = DenseTransforms.imageOnly(Normalize.imagenet());
        // eval: RandomResize(base, base) then normalise, as SegmentationPresetEval
        DenseTransform evalTf = DenseTransforms.randomShorterSide(base, base).then(norm);
        // train: SegmentationPresetTrain: RandomResize(0.5 base, 2 base), flip 0.5, RandomCrop(crop) padded with 255
        DenseTransform trainTf = c.augment.equals("standard")
                ? DenseTransforms.randomShorterSide((int) (0.5 * base), (int) (2.0 * base)).then(DenseTransforms.horizontalFlip(0.5))
                        .then(DenseTransforms.randomCrop(crop, crop)).then(norm)
                : DenseTransforms.randomShorterSide(base, base).then(DenseTransforms.randomCrop(crop, crop)).then(norm);
        int[] trainIdx = pick(train.size(), c.trainSubset, c.seed), testIdx = pick(test.size(), c.testSubset, c.seed + 1);
        DenseLoader trainLoader = new DenseLoader(train, trainIdx, trainTf, c.batchSize, true, true, c.seed, c.workers)
                .onSkip(e -> out.println("skipped unreadable training image: " + e.getMessage()));
        // images of different sizes cannot share a batch: VOC is evaluated one at a time, as the reference does
        DenseLoader testLoader = new DenseLoader(test, testIdx, evalTf, equalSizes ? c.batchSize : 1, false, false, c.seed, c.workers)
                .onSkip(e -> out.println("skipped unreadable test image: " + e.getMessage()));
        int k = classes.size();
        return new DenseRun(c, model, classes, trainLoader, testLoader, trainIdx.length, testIdx.length, base) {
            @Override
            public String describe() {
                return String.format(Locale.ROOT, "%s on %s: %d train / %d test images, %d classes, base %d crop %d%s, %,d parameters, %d threads",
                        c.model, c.data, trainIdx.length, testIdx.length, k, base, crop, c.auxLoss ? ", aux loss" : "",
                        model.parameterCount(), c.threads);
            }

            @Override
            public Step step(Module m, DenseLoader.DenseBatch b, TrainConfig cfg) {
                LinkedHashMap<String, Variable> outs = ((SegmentationModel) m).forwardAll(Variable.constant(b.images()));
                Variable loss = SegmentationLoss.criterion(outs, b.masks());
                ConfusionMatrix cm = new ConfusionMatrix(k);
                update(cm, outs.get("out").value(), b.masks());
                return new Step(loss, correct(cm), cm.total());
            }

            @Override
            public Scores evaluate(Module m) {
                return SegmentationTask.evaluate(m, testLoader, classes);
            }
        };
    }

    /** Options that only mean something for a classifier are refused, naming them. */
    private static void refuseClassificationOptions(TrainConfig c, Function<ModelConfig, Module> modelFactory) {
        if (modelFactory != null) throw new IllegalArgumentException("segmentation builds its models from SegmentationModels; a model factory is for classification");
        if (!SegmentationModels.all().containsKey(c.model)) {
            throw new IllegalArgumentException("model '" + c.model + "' is not a segmentation model; use one of " + SegmentationModels.all().keySet());
        }
        refuseClassificationOnly(c, "segmentation");
        if (c.imageSize < 32) throw new IllegalArgumentException("imageSize (--image-size) must be >= 32 for segmentation, got " + c.imageSize);
    }

    /** The options that only a classifier uses are refused for a dense task, naming the first one set. */
    static void refuseClassificationOnly(TrainConfig c, String task) {
        String bad = c.mixup > 0 ? "mixup" : c.cutmix > 0 ? "cutmix" : c.labelSmoothing > 0 ? "labelSmoothing (--label-smoothing)"
                : c.randomErasing > 0 ? "randomErasing" : !c.classes.isEmpty() ? "classes" : c.dropout > 0 ? "dropout"
                : c.newHead ? "newHead" : c.zeroInitResidual ? "zeroInitResidual" : null;
        if (bad != null) throw new IllegalArgumentException(bad + " applies to classification only, not to --task " + task);
    }

    /** k of n indices at random (seeded, kept in order), or all of them for k <= 0, as {@link DataSources#subset}. */
    static int[] pick(int n, int k, long seed) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        if (k <= 0 || k >= n) return all;
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = 0; i < k; i++) {
            int j = i + r.nextInt(n - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] p = java.util.Arrays.copyOf(all, k);
        java.util.Arrays.sort(p);
        return p;
    }

    /** Loss of {@code out} (the auxiliary head is training's only), pixel accuracy and mIoU over a loader. */
    static Scores evaluate(Module model, DenseLoader loader, List<String> classes) {
        int k = classes.size();
        boolean wasTraining = model.isTraining();
        model.eval();
        ConfusionMatrix cm = new ConfusionMatrix(k);
        double lossSum = 0;
        long n = 0;
        Inference inference = new Inference(model);
        try (var g = GradMode.noGrad()) {
            for (DenseLoader.DenseBatch b : loader.epoch(0)) {
                Tensor out = inference.run(b.images());
                lossSum += (double) LossOps.crossEntropyDense(Variable.constant(out), b.masks(), SegmentationLoss.IGNORE_INDEX, 1f)
                        .value().data()[0] * b.size();
                update(cm, out, b.masks());
                n += b.size();
            }
        } finally {
            model.train(wasTraining);
        }
        if (n == 0) throw new IllegalStateException("evaluation saw no images");
        LinkedHashMap<String, Double> cols = new LinkedHashMap<>();
        // a class absent from both the masks and the predictions has no IoU and is left out
        // (numpy's nanmean), so a small test set that lacks a class is still scored
        double miou = cm.meanIouOfDefined(), acc = cm.pixelAccuracy();
        cols.put("test_loss", lossSum / n);
        cols.put("test_miou", miou);
        cols.put("test_pixel_acc", acc);
        StringBuilder report = new StringBuilder(String.format(Locale.ROOT, "%-16s %8s%n", "class", "IoU"));
        double[] iou = cm.iou();
        for (int i = 0; i < k; i++) {
            // NaN: the class is neither in the masks nor predicted, and left out of the mean
            report.append(String.format(Locale.ROOT, "%-16s %8s%n", classes.get(i), Double.isNaN(iou[i]) ? "nan" : String.format(Locale.ROOT, "%.2f%%", 100 * iou[i])));
        }
        report.append(String.format(Locale.ROOT, "mIoU %.2f%%  pixel accuracy %.2f%%  loss %.4f  (%d images)", 100 * miou, 100 * acc, lossSum / n, n));
        return new Scores(cols, miou, String.format(Locale.ROOT, "test loss %.4f mIoU %.2f%% pixel acc %.2f%%", lossSum / n, 100 * miou, 100 * acc),
                report.toString(), null);
    }

    /** The data's train and test splits, mask class names, and whether all images share one size. */
    record Data(DenseDataset train, DenseDataset test, List<String> classes, boolean equalSizes) {}

    static Data data(TrainConfig c) throws IOException {
        int base = c.imageSize;
        if (c.data.equals("scenes")) {
            // disjoint seeds: the test scenes are never seen in training
            return new Data(new SceneDataset(new SyntheticScenes(c.shapesTrain, c.seed * 2 + 1, base, 6)),
                    new SceneDataset(new SyntheticScenes(c.shapesTest, c.seed * 2 + 2, base, 6)), SceneDataset.maskClasses(), true);
        }
        if (c.data.startsWith("voc:")) {
            Path root = Path.of(c.data.substring(4));
            VocSegmentation train = new VocSegmentation(root, "train");
            return new Data(train, new VocSegmentation(root, "val"), train.classes(), false);
        }
        throw new IllegalArgumentException("unknown segmentation data '" + c.data + "': use scenes or voc:DIR (a VOC-layout folder)");
    }

    /**
     * The first {@code k} examples of the config's test subset as evaluation sees them before
     * normalising (resized to the base size, images in [0, 1]), with the mask class names: what a
     * grid of predictions draws.
     */
    public static Sample testSample(TrainConfig c, int k) throws IOException {
        Data d = data(c);
        int[] idx = pick(d.test().size(), c.testSubset, c.seed + 1);
        DenseTransform resize = DenseTransforms.randomShorterSide(c.imageSize, c.imageSize);
        List<org.resnet4j.data.dense.DenseExample> ex = new java.util.ArrayList<>();
        for (int i = 0; i < idx.length && ex.size() < k; i++) {
            try {
                ex.add(resize.apply(d.test().get(idx[i]), new java.util.SplittableRandom(c.seed)));
            } catch (org.resnet4j.data.CorruptImageException e) {
                // unreadable: the grid shows the next image instead (the run has named it)
            }
        }
        return new Sample(ex, d.classes());
    }

    /** Test examples with the mask class names. */
    public record Sample(List<org.resnet4j.data.dense.DenseExample> examples, List<String> classes) {}

    /** The arg-max classes of a segmenter in eval mode for one image (CHW, [0, 1]), ImageNet-normalised first as in training. */
    public static int[] predict(SegmentationModel model, Tensor image) {
        Tensor x = Normalize.imagenet().apply(image, null);
        try (var ignored = GradMode.noGrad()) {
            Tensor out = model.forwardAll(Variable.constant(x.reshape(1, x.dim(0), x.dim(1), x.dim(2)))).get("out").value();
            return Masks.argmax(out.reshape(out.dim(1), out.dim(2), out.dim(3)));
        }
    }

    /**
     * Adds the arg-max of scores [N, K, H, W] against masks [N, H, W] (class indices as floats, 255
     * not scored) to {@code cm}, torchvision's references' ConfusionMatrix.
     */
    static void update(ConfusionMatrix cm, Tensor scores, Tensor masks) {
        int n = scores.dim(0), k = scores.dim(1), h = scores.dim(2), w = scores.dim(3), plane = h * w;
        float[] s = scores.data(), t = masks.data();
        for (int i = 0; i < n; i++) {
            int[] pred = Masks.argmax(Tensor.of(java.util.Arrays.copyOfRange(s, i * k * plane, (i + 1) * k * plane), k, h, w));
            int[] truth = new int[plane];
            for (int p = 0; p < plane; p++) truth[p] = (int) t[i * plane + p];
            cm.update(truth, pred);
        }
    }

    /** Pixels on the diagonal: predicted as their true class. */
    static long correct(ConfusionMatrix cm) {
        long d = 0;
        for (int c = 0; c < cm.classes(); c++) d += cm.count(c, c);
        return d;
    }
}
