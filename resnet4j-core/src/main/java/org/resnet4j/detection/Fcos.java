package org.resnet4j.detection;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.MultiOutput;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.BufferPool;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision 0.14's FCOS (models/detection/fcos.py; Tian et al. 2019, "FCOS: Fully
 * Convolutional One-Stage Object Detection"): {@link GeneralizedRcnnTransform}, a backbone with a
 * feature pyramid ({@code backbone}: {@link BackboneWithFpn}), the shared {@link FcosHead}
 * ({@code head}), one anchor point per location ({@link AnchorGenerator#fcosDefault()}) and
 * {@link BoxLinearCoder}. State_dict keys are torchvision's ({@code backbone.body.*},
 * {@code backbone.fpn.*}, {@code head.classification_head.*}, {@code head.regression_head.*}).
 *
 * <p>{@link #detect} is torchvision's eval-mode forward: images in, detections (boxes in the
 * original images' pixels, scores, labels) out, post-processed as
 * {@code FCOS.postprocess_detections}. {@link #losses} is its train-mode forward: images and
 * targets in, the loss dict {classification, bbox_regression, bbox_ctrness} out, each a 0-d
 * Variable to call backward on (their sum, as torchvision's references train). As
 * {@link MultiOutput}, {@link #forwardAll} runs an already transformed batch through the backbone
 * and head and names the dense outputs "cls_logits", "bbox_regression", "bbox_ctrness", so that
 * summaries and meta (shape-only) passes work as for the other models.
 */
public final class Fcos extends Module implements MultiOutput {
    public final BackboneWithFpn backbone;
    public final FcosHead head;
    public final AnchorGenerator anchorGenerator;
    public final BoxLinearCoder boxCoder = new BoxLinearCoder(true);
    private Options options;
    private GeneralizedRcnnTransform transform;

    /**
     * FCOS's settings with torchvision's defaults: min_size 800, max_size 1333, centre sampling
     * radius 1.5, score threshold 0.2, NMS IoU 0.6, 100 detections per image, 1000 candidates per
     * level before NMS.
     */
    public record Options(int minSize, int maxSize, float centerSamplingRadius, float scoreThresh, float nmsThresh,
                          int detectionsPerImg, int topkCandidates) {
        public Options {
            if (minSize < 1 || maxSize < 1) throw new IllegalArgumentException("FCOS: min_size " + minSize + " and max_size " + maxSize + " must be >= 1");
            if (!(centerSamplingRadius > 0)) throw new IllegalArgumentException("FCOS: center_sampling_radius must be > 0, got " + centerSamplingRadius);
            if (!(nmsThresh >= 0 && nmsThresh <= 1)) throw new IllegalArgumentException("FCOS: nms_thresh must be in [0, 1], got " + nmsThresh);
            if (!(scoreThresh >= 0 && scoreThresh <= 1)) throw new IllegalArgumentException("FCOS: score_thresh must be in [0, 1], got " + scoreThresh);
            if (detectionsPerImg < 0 || topkCandidates < 0) {
                throw new IllegalArgumentException("FCOS: detections_per_img " + detectionsPerImg + " and topk_candidates " + topkCandidates
                        + " must be >= 0");
            }
        }

        public static Options defaults() {
            return new Options(800, 1333, 1.5f, 0.2f, 0.6f, 100, 1000);
        }

        public Options withSizes(int min, int max) {
            return new Options(min, max, centerSamplingRadius, scoreThresh, nmsThresh, detectionsPerImg, topkCandidates);
        }

        public Options withScoreThresh(float t) {
            return new Options(minSize, maxSize, centerSamplingRadius, t, nmsThresh, detectionsPerImg, topkCandidates);
        }

        public Options withNmsThresh(float t) {
            return new Options(minSize, maxSize, centerSamplingRadius, scoreThresh, t, detectionsPerImg, topkCandidates);
        }

        public Options withTopkCandidates(int k) {
            return new Options(minSize, maxSize, centerSamplingRadius, scoreThresh, nmsThresh, detectionsPerImg, k);
        }
    }

    public Fcos(BackboneWithFpn backbone, int numClasses, Options options) {
        this(backbone, numClasses, options, FcosTower.GROUPS);
    }

    /** With {@code headGroups} GroupNorm groups in the head's towers (torchvision: 32, for its 256 channels). */
    public Fcos(BackboneWithFpn backbone, int numClasses, Options options, int headGroups) {
        this.backbone = register("backbone", backbone);
        this.anchorGenerator = AnchorGenerator.fcosDefault();
        this.head = register("head", new FcosHead(backbone.outChannels, anchorGenerator.numAnchorsPerLocation(0), numClasses, 4, headGroups));
        setOptions(options);
    }

    /** The presets {@link #create} builds, torchvision's first. */
    public static final List<String> PRESETS = List.of("fcos_resnet50_fpn", "fcos_resnet18_fpn", "fcos_resnet18w32_fpn");

    /** fcos_resnet18w32_fpn's trunk width (its stages: 32, 64, 128, 256 channels). */
    static final int NARROW_WIDTH = 32;
    /** fcos_resnet18w32_fpn's pyramid and head width, and its head's GroupNorm groups (8 channels a group, as torchvision's 256 / 32). */
    static final int NARROW_CHANNELS = 64, NARROW_GROUPS = 8;

    /**
     * A preset: {@code "fcos_resnet50_fpn"} (torchvision's: ResNet-50 body, min_size 800, max_size
     * 1333) or {@code "fcos_resnet18_fpn"} (ResNet-18 body, min_size 384, max_size 512: for images
     * of 128 to 512 pixels, see docs/DETECTION.md) or {@code "fcos_resnet18w32_fpn"}: for
     * scenes of about 128 pixels trained from scratch, the ResNet-18 layout at half width (stages
     * of 32 to 256 channels) under a 64-channel pyramid and head (GroupNorm 8 groups), min_size
     * 128, max_size 171, torchvision's FCOS otherwise (anchor sizes 8 to 128, so with P3 at
     * stride 8 every object under about 100 pixels is regressed from P3; loss, centre sampling,
     * post-processing). {@code weightsGiven}: the backbone's batch norms are FrozenBatchNorm2d and
     * conv1 and layer1 frozen, as torchvision builds the model when weights will be loaded;
     * otherwise BatchNorm2d and everything trainable.
     */
    public static Fcos create(String name, int numClasses, boolean weightsGiven) {
        return switch (name) {
            case "fcos_resnet50_fpn" -> new Fcos(BackboneWithFpn.fcosResNetFpn("resnet50", weightsGiven, null), numClasses,
                    Options.defaults());
            case "fcos_resnet18_fpn" -> new Fcos(BackboneWithFpn.fcosResNetFpn("resnet18", weightsGiven, null), numClasses,
                    Options.defaults().withSizes(384, 512));
            // torchvision's 256-channel head and pyramid are most of fcos_resnet18_fpn's cost at
            // 128 pixels (a P3 head conv is 16 x 16 x 256 x 256 x 9 multiply-adds, 16 times a
            // 64-channel one); six shape classes need far less width (docs/DECISIONS.md)
            case "fcos_resnet18w32_fpn" -> new Fcos(BackboneWithFpn.narrowResNetFpn(NARROW_WIDTH, NARROW_CHANNELS, weightsGiven),
                    numClasses, Options.defaults().withSizes(128, 171), NARROW_GROUPS);
            default -> throw new IllegalArgumentException("unknown FCOS model '" + name + "'; known: " + String.join(", ", PRESETS));
        };
    }

    public Options options() {
        return options;
    }

    public void setOptions(Options options) {
        this.options = options;
        this.transform = new GeneralizedRcnnTransform(options.minSize(), options.maxSize());
    }

    public GeneralizedRcnnTransform transform() {
        return transform;
    }

    public int numClasses() {
        return head.numClasses();
    }

    /** What one pass through transform, backbone and head gives: the padded batch, the dense outputs and the anchors. */
    public record Pass(GeneralizedRcnnTransform.ImageList images, FcosHead.Outputs outputs, Tensor anchors, int[] anchorsPerLevel,
                       List<DetectionTarget> targets) {}

    /** Transform, backbone, head and anchors for images (and targets, resized with them; null at inference). */
    public Pass run(List<Tensor> images, List<DetectionTarget> targets) {
        List<DetectionTarget> resized = targets == null ? null : new ArrayList<>();
        if (targets != null) for (int i = 0; i < targets.size(); i++) targets.get(i).check(i, numClasses());
        GeneralizedRcnnTransform.ImageList il = transform.apply(images, targets, resized);
        if (resized != null) for (int i = 0; i < resized.size(); i++) resized.get(i).check(i, numClasses()); // as torchvision, after resizing
        List<Variable> features = new ArrayList<>(backbone.forwardAll(Variable.constant(il.tensors())).values());
        FcosHead.Outputs out = head.apply(features);
        int[][] grids = new int[features.size()][];
        int[] perLevel = new int[features.size()];
        for (int l = 0; l < features.size(); l++) {
            int[] s = features.get(l).shape();
            grids[l] = new int[] {s[2], s[3]};
            perLevel[l] = s[2] * s[3] * anchorGenerator.numAnchorsPerLocation(l);
        }
        Tensor anchors = anchorGenerator.anchors(il.tensors().dim(2), il.tensors().dim(3), grids);
        return new Pass(il, out, anchors, perLevel, resized);
    }

    /**
     * Detections per image, boxes in each original image's pixels (torchvision's eval-mode
     * forward); no graph is recorded. Call {@link #eval()} first, as with torchvision: a
     * BatchNorm2d backbone (no weights given) in train mode would use, and update, batch statistics.
     * One call at a time (calls are serialized), as {@link org.resnet4j.nn.Inference}.
     */
    public synchronized List<Detections> detect(List<Tensor> images) {
        // activation arrays reused from call to call, as nn.Inference does: at 800x1088 a layer1
        // activation is 57 MB, and allocating (and zeroing) each afresh took as long as the convs
        try (var scope = buffers.open(); var ignored = GradMode.noGrad()) {
            Pass p = run(images, null);
            List<Detections> out = new ArrayList<>();
            for (Detections d : postprocess(p, images)) out.add(new Detections(kept(d.boxes()), kept(d.scores()), d.labels()));
            return out;
        }
    }

    /** A tensor that outlives the call: copied when it lives in the reused pool. */
    private static Tensor kept(Tensor t) {
        return BufferPool.isPooled(t.data()) ? t.copy() : t;
    }

    private final BufferPool buffers = new BufferPool();

    /** The detections of a pass, mapped back to the original images' sizes (transform.postprocess). */
    public List<Detections> postprocess(Pass p, List<Tensor> images) {
        FcosHead.Outputs o = p.outputs();
        int[][] sizes = p.images().imageSizes();
        List<Detections> dets = FcosPostprocess.apply(o.clsLogits().value(), o.bboxRegression().value(), o.bboxCtrness().value(),
                p.anchors(), p.anchorsPerLevel(), sizes, options.scoreThresh(), options.topkCandidates(), options.nmsThresh(),
                options.detectionsPerImg(), boxCoder);
        List<Detections> out = new ArrayList<>();
        for (int i = 0; i < dets.size(); i++) {
            Detections d = dets.get(i);
            Tensor b = GeneralizedRcnnTransform.resizeBoxes(d.boxes(), sizes[i][0], sizes[i][1], images.get(i).dim(1), images.get(i).dim(2));
            out.add(new Detections(b, d.scores(), d.labels()));
        }
        return out;
    }

    /** torchvision's train-mode forward: {classification, bbox_regression, bbox_ctrness}, each 0-d, with the graph recorded. */
    public LinkedHashMap<String, Variable> losses(List<Tensor> images, List<DetectionTarget> targets) {
        return losses(images, targets, null);
    }

    /**
     * The loss dict with crowd regions ignored: {@code crowd} holds per image the crowd boxes
     * [C, 4] (x1, y1, x2, y2, original pixels; null or empty for none). A crowd box is never
     * matched, and an anchor point inside one that no regular box claims is left out of the
     * classification loss (neither object nor background). Without crowd boxes this is
     * torchvision's loss exactly. torchvision's references instead drop crowd annotations from
     * the training targets (coco_utils.py, ConvertCocoPolysToMask), which trains those points as
     * background; docs/DECISIONS.md says why resnet4j ignores them.
     */
    public LinkedHashMap<String, Variable> losses(List<Tensor> images, List<DetectionTarget> targets, List<Tensor> crowd) {
        checkTargets(images, targets);
        return lossesOf(run(images, targets), images, crowd);
    }

    /** The losses and the detections of one eval-mode pass (no graph recorded): what evaluation needs, at the cost of one forward. */
    public record Scored(LinkedHashMap<String, Variable> losses, List<Detections> detections) {}

    /** {@link #losses} and {@link #detect} from one pass. Call {@link #eval()} first. */
    public Scored score(List<Tensor> images, List<DetectionTarget> targets, List<Tensor> crowd) {
        checkTargets(images, targets);
        try (var ignored = GradMode.noGrad()) {
            Pass p = run(images, targets);
            return new Scored(lossesOf(p, images, crowd), postprocess(p, images));
        }
    }

    private static void checkTargets(List<Tensor> images, List<DetectionTarget> targets) {
        if (targets == null) throw new IllegalArgumentException("targets should not be none when in training mode");
        if (targets.size() != images.size()) {
            throw new IllegalArgumentException(images.size() + " images but " + targets.size() + " targets");
        }
    }

    private LinkedHashMap<String, Variable> lossesOf(Pass p, List<Tensor> images, List<Tensor> crowd) {
        List<Tensor> crowdResized = null;
        if (crowd != null) {
            if (crowd.size() != images.size()) throw new IllegalArgumentException(images.size() + " images but " + crowd.size() + " crowd lists");
            crowdResized = new ArrayList<>();
            int[][] sizes = p.images().imageSizes();
            for (int i = 0; i < crowd.size(); i++) {
                Tensor c = crowd.get(i);
                crowdResized.add(c == null || c.dim(0) == 0 ? null
                        : GeneralizedRcnnTransform.resizeBoxes(c, images.get(i).dim(1), images.get(i).dim(2), sizes[i][0], sizes[i][1]));
            }
        }
        FcosHead.Outputs o = p.outputs();
        return FcosLoss.compute(o.clsLogits(), o.bboxRegression(), o.bboxCtrness(), p.anchors(), p.anchorsPerLevel(), p.targets(),
                crowdResized, options.centerSamplingRadius(), boxCoder);
    }

    /** The dense outputs for an already transformed batch [N, 3, H, W]: "cls_logits", "bbox_regression", "bbox_ctrness". */
    @Override
    public LinkedHashMap<String, Variable> forwardAll(Variable x) {
        FcosHead.Outputs o = head.apply(new ArrayList<>(backbone.forwardAll(x).values()));
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        out.put("cls_logits", o.clsLogits());
        out.put("bbox_regression", o.bboxRegression());
        out.put("bbox_ctrness", o.bboxCtrness());
        return out;
    }

    /** The class logits [N, HWA, K] of a transformed batch. */
    @Override
    public Variable forward(Variable x) {
        return forwardAll(x).get("cls_logits");
    }

    /** How many parameter values get a gradient (torchvision: numel of parameters with requires_grad). */
    public long trainableParameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) if (p.requiresGrad()) n += p.value().size();
        return n;
    }

    @Override
    public String describe() {
        return "FCOS(" + numClasses() + " classes, " + transform + ")";
    }
}
