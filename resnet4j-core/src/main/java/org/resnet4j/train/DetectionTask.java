package org.resnet4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.data.DatasetFormatException;
import org.resnet4j.data.SyntheticScenes;
import org.resnet4j.data.dense.CocoDetection;
import org.resnet4j.data.dense.DenseDataset;
import org.resnet4j.data.dense.DenseExample;
import org.resnet4j.data.dense.DenseTarget;
import org.resnet4j.data.dense.DenseTransform;
import org.resnet4j.data.dense.DenseTransforms;
import org.resnet4j.data.dense.SceneDataset;
import org.resnet4j.detection.DetectionTarget;
import org.resnet4j.detection.Detections;
import org.resnet4j.detection.Fcos;
import org.resnet4j.detection.FcosWeights;
import org.resnet4j.metrics.CocoBox;
import org.resnet4j.metrics.CocoEvaluator;
import org.resnet4j.metrics.CocoResult;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * Object detection with FCOS as torchvision's references/detection/train.py trains it: images in
 * [0, 1] flipped at random (the reference's default "hflip" augmentation), boxes moving with them;
 * the model's own transform normalises and resizes (min_size {@code imageSize}, max_size in the
 * preset's ratio); the loss is the sum of the loss dict (classification + bbox_regression +
 * bbox_ctrness, as the reference's {@code sum(loss for loss in loss_dict.values())}); evaluation
 * is COCO box AP (pycocotools' COCOeval, through {@link CocoEvaluator}) of the eval-mode
 * detections against the test split's annotations, AP at IoU .50:.95 picking the best checkpoint.
 * Crowd regions are never matched and their background points are left out of the
 * classification loss ({@link Fcos#losses(List, List, List)}); COCO's evaluation ignores them.
 *
 * <p>Data: {@code scenes} ({@link SyntheticScenes} at the image size, train and test from
 * different seeds; the six shapes are the classes) or {@code coco:DIR}, a COCO-layout folder:
 * {@code DIR/annotations/instances_train2017.json} with images in {@code DIR/train2017} (or
 * {@code instances_train.json} and {@code train}), and the same for {@code val}. Unusable
 * annotations are skipped and counted ({@link CocoDetection#problems}), unreadable images skipped
 * and counted by the loader.
 */
public final class DetectionTask implements Task {
    /** The FCOS presets that train. */
    static final List<String> MODELS = List.of("fcos_resnet18_fpn", "fcos_resnet50_fpn", "fcos_resnet18w32_fpn");
    /** Problem lines printed when a COCO file is opened; the rest are counted. */
    private static final int PROBLEMS_SHOWN = 20;

    @Override
    public String name() {
        return "detection";
    }

    /**
     * A detection data set's splits, classes and COCO ids: scenes number their images by index
     * and their categories by label.
     */
    record Data(DenseDataset train, DenseDataset test, List<String> classes, List<String> problems) {
        long imageId(int index) {
            return test instanceof CocoDetection coco ? coco.imageId(index) : index;
        }

        long categoryId(int label) {
            return test instanceof CocoDetection coco ? coco.categoryId(label) : label;
        }

        long[] categoryIds() {
            if (test instanceof CocoDetection coco) return coco.categoryIds();
            long[] ids = new long[classes.size()];
            for (int i = 0; i < ids.length; i++) ids[i] = i;
            return ids;
        }

        /** Test example {@code index}'s annotations as COCO's evaluation reads them. */
        List<CocoDetection.GroundTruth> truth(int index, DenseTarget t) {
            if (test instanceof CocoDetection coco) return coco.groundTruth(index);
            List<CocoDetection.GroundTruth> g = new ArrayList<>();
            for (int i = 0; i < t.count(); i++) {
                float[] b = t.box(i);
                double w = b[2] - b[0], h = b[3] - b[1];
                g.add(new CocoDetection.GroundTruth(t.labels()[i], b[0], b[1], w, h, w * h, t.crowd()[i]));
            }
            return g;
        }
    }

    /** Opens {@code scenes} or {@code coco:DIR}. */
    static Data data(TrainConfig c) throws IOException {
        if (c.data.equals("scenes")) {
            // disjoint seeds: the test scenes are never seen in training
            return new Data(new SceneDataset(new SyntheticScenes(c.shapesTrain, c.seed * 2 + 1, c.imageSize, 6)),
                    new SceneDataset(new SyntheticScenes(c.shapesTest, c.seed * 2 + 2, c.imageSize, 6)), SyntheticScenes.CLASSES, List.of());
        }
        if (c.data.startsWith("coco:")) {
            Path root = Path.of(c.data.substring(5));
            CocoDetection train = coco(root, "train"), test = coco(root, "val");
            if (!train.classes().equals(test.classes())) {
                throw new DatasetFormatException(root + ": the train and val annotation files list different categories: " + train.classes()
                        + " and " + test.classes());
            }
            List<String> problems = new ArrayList<>(train.problems());
            problems.addAll(test.problems());
            return new Data(train, test, train.classes(), problems);
        }
        throw new IllegalArgumentException("unknown detection data '" + c.data + "': use scenes or coco:DIR (a COCO-layout folder)");
    }

    private static CocoDetection coco(Path root, String split) throws IOException {
        for (String suffix : List.of("2017", "")) {
            Path ann = root.resolve("annotations").resolve("instances_" + split + suffix + ".json");
            if (Files.isRegularFile(ann)) return new CocoDetection(ann, root.resolve(split + suffix));
        }
        throw new DatasetFormatException(root + ": no annotations/instances_" + split + "2017.json or annotations/instances_" + split
                + ".json (COCO's layout: the annotation file, and the images in " + split + "2017/ or " + split + "/)");
    }

    /** The preset at the config's size: min_size {@code imageSize}, max_size in the preset's ratio (fcos_resnet18_fpn: 384 / 512). */
    static Fcos model(TrainConfig c, int classes) {
        Fcos m = Fcos.create(c.model, classes, c.weights != null);
        Fcos.Options o = m.options();
        int max = (int) Math.round((double) c.imageSize * o.maxSize() / o.minSize());
        m.setOptions(o.withSizes(c.imageSize, max));
        return m;
    }

    @Override
    public Run<DenseLoader.DenseBatch> open(TrainConfig c, Function<ModelConfig, Module> modelFactory, PrintStream out) throws IOException {
        return open(c, modelFactory, out, true);
    }

    /** With weights given, the backbone is still built as for them (FrozenBatchNorm2d, conv1 and layer1 frozen), only not loaded. */
    @Override
    public Run<DenseLoader.DenseBatch> openForEvaluation(TrainConfig c, PrintStream out) throws IOException {
        return open(c, null, out, false);
    }

    private Run<DenseLoader.DenseBatch> open(TrainConfig c, Function<ModelConfig, Module> modelFactory, PrintStream out, boolean loadWeights)
            throws IOException {
        if (modelFactory != null) throw new IllegalArgumentException("detection builds its models from Fcos.create; a model factory is for classification");
        if (!MODELS.contains(c.model)) throw new IllegalArgumentException("model '" + c.model + "' is not a detection model; use one of " + MODELS);
        SegmentationTask.refuseClassificationOnly(c, "detection");
        if (c.auxLoss) throw new IllegalArgumentException("auxLoss (--aux-loss) applies to segmentation only, not to --task detection");
        if (c.imageSize < 32) throw new IllegalArgumentException("imageSize (--image-size) must be >= 32 for detection, got " + c.imageSize);
        Data d = data(c);
        for (int i = 0; i < Math.min(PROBLEMS_SHOWN, d.problems().size()); i++) out.println("skipped annotation: " + d.problems().get(i));
        if (d.problems().size() > PROBLEMS_SHOWN) out.println("... and " + (d.problems().size() - PROBLEMS_SHOWN) + " more annotations skipped");
        List<String> classes = d.classes();
        Fcos model = model(c, classes.size());
        if (c.weights != null && loadWeights) {
            Path w = Path.of(c.weights);
            try {
                FcosWeights.loadBackboneFromClassifier(model, Transfer.readStateDict(w));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(w + ": " + e.getMessage(), e);
            }
        }
        // the reference's "hflip" policy: RandomHorizontalFlip(0.5); the model resizes and normalises
        DenseTransform trainTf = c.augment.equals("standard") ? DenseTransforms.horizontalFlip(0.5) : (e, rng) -> e;
        int[] trainIdx = SegmentationTask.pick(d.train().size(), c.trainSubset, c.seed), testIdx = SegmentationTask.pick(d.test().size(), c.testSubset, c.seed + 1);
        DenseLoader trainLoader = new DenseLoader(d.train(), trainIdx, trainTf, c.batchSize, true, true, c.seed, c.workers).unstacked()
                .onSkip(e -> out.println("skipped unreadable training image: " + e.getMessage()));
        DenseLoader testLoader = new DenseLoader(d.test(), testIdx, (e, rng) -> e, c.batchSize, false, false, c.seed, c.workers).unstacked()
                .onSkip(e -> out.println("skipped unreadable test image: " + e.getMessage()));
        return new DenseRun(c, model, classes, trainLoader, testLoader, trainIdx.length, testIdx.length, c.imageSize) {
            @Override
            public String describe() {
                return String.format(Locale.ROOT, "%s on %s: %d train / %d test images, %d classes, min_size %d max_size %d, %,d parameters (%,d trainable), %d threads",
                        c.model, c.data, trainIdx.length, testIdx.length, classes.size(), ((Fcos) model).options().minSize(), ((Fcos) model).options().maxSize(),
                        model.parameterCount(), ((Fcos) model).trainableParameterCount(), c.threads);
            }

            @Override
            public Step step(Module m, DenseLoader.DenseBatch b, TrainConfig cfg) {
                Inputs in = inputs(b.examples());
                return new Step(sum(((Fcos) m).losses(in.images(), in.targets(), in.crowd())), 0, 0);
            }

            @Override
            public Scores evaluate(Module m) {
                return DetectionTask.evaluate((Fcos) m, testLoader, d);
            }

            @Override
            public String skippedSummary() {
                String files = super.skippedSummary();
                if (d.problems().isEmpty()) return files;
                String anns = d.problems().size() + " annotation" + (d.problems().size() == 1 ? "" : "s") + " unusable, skipped";
                return files.isEmpty() ? anns : files + "; " + anns;
            }
        };
    }

    /** A batch as FCOS takes it: images, targets of the regular objects, and each image's crowd boxes (null when none). */
    record Inputs(List<Tensor> images, List<DetectionTarget> targets, List<Tensor> crowd) {}

    static Inputs inputs(List<DenseExample> examples) {
        List<Tensor> images = new ArrayList<>(), crowd = new ArrayList<>();
        List<DetectionTarget> targets = new ArrayList<>();
        for (DenseExample e : examples) {
            DenseTarget t = e.target();
            int regular = 0;
            for (boolean cr : t.crowd()) if (!cr) regular++;
            float[] boxes = new float[4 * regular], crowdBoxes = new float[4 * (t.count() - regular)];
            int[] labels = new int[regular];
            int r = 0, k = 0;
            for (int i = 0; i < t.count(); i++) {
                if (t.crowd()[i]) {
                    System.arraycopy(t.boxes(), 4 * i, crowdBoxes, 4 * k++, 4);
                } else {
                    System.arraycopy(t.boxes(), 4 * i, boxes, 4 * r, 4);
                    labels[r++] = t.labels()[i];
                }
            }
            images.add(e.image());
            targets.add(new DetectionTarget(Tensor.of(boxes, regular, 4), labels));
            crowd.add(k == 0 ? null : Tensor.of(crowdBoxes, k, 4));
        }
        return new Inputs(images, targets, crowd);
    }

    /** The reference's {@code sum(loss for loss in loss_dict.values())}. */
    static Variable sum(Map<String, Variable> losses) {
        Variable total = null;
        for (Variable v : losses.values()) total = total == null ? v : AddOp.apply(total, v);
        return total;
    }

    /**
     * Loss and COCO box AP over a loader, in eval mode with no graph: every image the loader
     * yields counts (an unreadable one is left out, as the reference evaluates the images it ran),
     * every category of the data set. AP (IoU .50:.95) is primary.
     */
    static Scores evaluate(Fcos model, DenseLoader loader, Data d) {
        boolean wasTraining = model.isTraining();
        model.eval();
        List<Long> imageIds = new ArrayList<>();
        List<Runnable> adds = new ArrayList<>(); // the evaluator needs every image id before the boxes
        CocoEvaluator[] ev = new CocoEvaluator[1];
        double lossSum = 0;
        int n = 0;
        try {
            for (DenseLoader.DenseBatch b : loader.epoch(0)) {
                Inputs in = inputs(b.examples());
                Fcos.Scored s = model.score(in.images(), in.targets(), in.crowd());
                lossSum += (double) sum(s.losses()).value().data()[0] * b.size();
                n += b.size();
                for (int i = 0; i < b.size(); i++) {
                    int index = b.indices().get(i);
                    long id = d.imageId(index);
                    imageIds.add(id);
                    for (CocoDetection.GroundTruth g : d.truth(index, b.examples().get(i).target())) {
                        adds.add(() -> ev[0].addGroundTruth(id, g.categoryId(), new CocoBox(g.x(), g.y(), g.width(), g.height()), g.area(), g.crowd()));
                    }
                    Detections det = s.detections().get(i);
                    float[] bx = det.boxes().data(), sc = det.scores().data();
                    for (int k = 0; k < det.size(); k++) {
                        CocoBox box = CocoBox.fromCorners(bx[4 * k], bx[4 * k + 1], bx[4 * k + 2], bx[4 * k + 3]);
                        long cat = d.categoryId(det.labels()[k]);
                        double score = sc[k];
                        adds.add(() -> ev[0].addDetection(id, cat, box, score));
                    }
                }
            }
        } finally {
            model.train(wasTraining);
        }
        if (n == 0) throw new IllegalStateException("evaluation saw no images");
        ev[0] = new CocoEvaluator(imageIds.stream().mapToLong(Long::longValue).toArray(), d.categoryIds());
        adds.forEach(Runnable::run);
        CocoResult r = ev[0].evaluate();
        LinkedHashMap<String, Double> cols = new LinkedHashMap<>();
        cols.put("test_loss", lossSum / n);
        cols.put("test_ap", r.ap());
        cols.put("test_ap50", r.ap50());
        cols.put("test_ap75", r.ap75());
        String summary = String.format(Locale.ROOT, "test loss %.4f AP %.3f AP50 %.3f", lossSum / n, r.ap(), r.ap50());
        String report = String.format(Locale.ROOT, "%d images, %d categories, loss %.4f%n", n, d.categoryIds().length, lossSum / n) + r.summary();
        return new Scores(cols, r.ap(), summary, report, null);
    }

    /** The first {@code k} test examples (of the config's test subset) and the class names, for drawing predictions. */
    public static Sample testSample(TrainConfig c, int k) throws IOException {
        Data d = data(c);
        int[] idx = SegmentationTask.pick(d.test().size(), c.testSubset, c.seed + 1);
        List<DenseExample> ex = new ArrayList<>();
        for (int i = 0; i < Math.min(k, idx.length); i++) {
            try {
                ex.add(d.test().get(idx[i]));
            } catch (org.resnet4j.data.CorruptImageException e) {
                // unreadable: the grid shows the next image instead (the run has named it)
            }
        }
        return new Sample(ex, d.classes());
    }

    /** Test examples with their class names. */
    public record Sample(List<DenseExample> examples, List<String> classes) {}
}
