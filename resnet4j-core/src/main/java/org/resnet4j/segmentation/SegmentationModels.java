package org.resnet4j.segmentation;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.resnet4j.nn.Module;

/**
 * The registry of segmentation models, torchvision 0.14's four plus small presets for CPU
 * training. Each is a dilated ResNet (layer3 and layer4 at output stride 8) with torchvision's
 * heads: {@code fcn_*} = FCNHead(C5, classes), {@code deeplabv3_*} = DeepLabHead(C5, classes),
 * and with {@code aux} an FCNHead(C4, classes) on layer3. Default 21 classes (PASCAL VOC's 20 and
 * background) and 520-pixel inputs (torchvision's resize_size). A registry of its own rather than
 * entries in models.Models: these are built from models' blocks, so models cannot name them.
 */
public final class SegmentationModels {
    /** What varies between uses of one segmentation architecture. */
    public record Config(int numClasses, boolean aux, int inChannels) {
        public Config {
            if (numClasses < 1) throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
            if (inChannels < 1) throw new IllegalArgumentException("inChannels must be >= 1, got " + inChannels);
        }

        /** torchvision's defaults with no weights: 21 classes, no auxiliary head, RGB. */
        public static Config defaults() {
            return new Config(DEFAULT_CLASSES, false, 3);
        }
    }

    /**
     * A registered architecture: family ("FCN", "DeepLabV3"), backbone, defaults. {@code layers}
     * holds four stage depths for an ImageNet-style trunk, three (n, n, n) for a CIFAR one.
     */
    public record Entry(String name, String family, String backboneName, int defaultClasses, int defaultSize,
                        boolean bottleneck, int[] layers, int outputStride) {
        public SegmentationModel create(Config c) {
            Backbone b = layers.length == 3 ? Backbone.cifar(6 * layers[0] + 2, c.inChannels(), outputStride == 2)
                    : new Backbone(bottleneck, layers, new boolean[] {false, true, true}, c.inChannels());
            Module head = family.equals("FCN") ? Heads.fcn(b.outChannels(), c.numClasses()) : Heads.deepLab(b.outChannels(), c.numClasses());
            return new SegmentationModel(family, b, head, c.aux() ? Heads.fcn(b.auxChannels(), c.numClasses()) : null, c.numClasses());
        }

        public SegmentationModel create() {
            return create(Config.defaults());
        }

        /** The same model with meta (shape-only) parameters, for listings and summaries. */
        public SegmentationModel createMeta(Config c) {
            return Module.buildMeta(() -> create(c));
        }
    }

    public static final int DEFAULT_CLASSES = 21, DEFAULT_SIZE = 520;
    private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();

    static {
        // torchvision 0.14 (Long et al. 2015; Chen et al. 2017), ResNet-50/101 backbones
        add("fcn_resnet50", "FCN", "resnet50", true, 3, 4, 6, 3);
        add("fcn_resnet101", "FCN", "resnet101", true, 3, 4, 23, 3);
        add("deeplabv3_resnet50", "DeepLabV3", "resnet50", true, 3, 4, 6, 3);
        add("deeplabv3_resnet101", "DeepLabV3", "resnet101", true, 3, 4, 23, 3);
        // small presets for CPU training: basic blocks, atrous (ResNet.forDensePrediction), same heads
        add("fcn_resnet18", "FCN", "resnet18", false, 2, 2, 2, 2);
        add("fcn_resnet34", "FCN", "resnet34", false, 3, 4, 6, 3);
        add("deeplabv3_resnet18", "DeepLabV3", "resnet18", false, 2, 2, 2, 2);
        add("deeplabv3_resnet34", "DeepLabV3", "resnet34", false, 3, 4, 6, 3);
        // from-scratch training on small images: the CIFAR ResNets (He et al. 2015, section 4.2;
        // 16/32/64 channels, output stride 4 undilated) under torchvision's FCN head. fcn_resnet20
        // has 7 classes 0.28 M parameters against fcn_resnet18's 11.9 M and runs several times as
        // many images per second at 64-128 pixels, which is what a 20-minute CPU budget needs.
        add("fcn_resnet20", "FCN", "resnet20", false, 3, 3, 3);
        add("fcn_resnet32", "FCN", "resnet32", false, 5, 5, 5);
        add("fcn_resnet56", "FCN", "resnet56", false, 9, 9, 9);
        // the same trunks with layer3 dilated (output stride 2): the 64-pixel scenes' thin parts
        // need the finer logit map, at about twice the work per image (Backbone.cifar)
        addStride2("fcn_resnet20_os2", "resnet20", 3);
        addStride2("fcn_resnet32_os2", "resnet32", 5);
    }

    private SegmentationModels() {}

    private static void add(String name, String family, String backbone, boolean bottleneck, int... layers) {
        int outputStride = layers.length == 3 ? 4 : 8;
        REGISTRY.put(name, new Entry(name, family, backbone, DEFAULT_CLASSES, DEFAULT_SIZE, bottleneck, layers, outputStride));
    }

    private static void addStride2(String name, String backbone, int n) {
        REGISTRY.put(name, new Entry(name, "FCN", backbone, DEFAULT_CLASSES, DEFAULT_SIZE, false, new int[] {n, n, n}, 2));
    }

    public static Map<String, Entry> all() {
        return Collections.unmodifiableMap(REGISTRY);
    }

    /** The entry for a name, or an error listing the known names. */
    public static Entry get(String name) {
        Entry e = REGISTRY.get(name);
        if (e == null) {
            throw new IllegalArgumentException("unknown segmentation model '" + name + "'; known: " + String.join(", ", REGISTRY.keySet()));
        }
        return e;
    }

    public static SegmentationModel create(String name, Config c) {
        return get(name).create(c);
    }

    /** {@code name} with {@code classes} classes and the auxiliary head on or off. */
    public static SegmentationModel create(String name, int classes, boolean aux) {
        return get(name).create(new Config(classes, aux, 3));
    }
}
