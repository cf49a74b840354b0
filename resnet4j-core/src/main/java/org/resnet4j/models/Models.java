package org.resnet4j.models;

import static org.resnet4j.models.ResNet.Block.BASIC;
import static org.resnet4j.models.ResNet.Block.BOTTLENECK;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.resnet4j.nn.Module;

/**
 * The registry of named constructors. Each entry reads like a row of the paper's table:
 * {@code resnet50 = ResNet(BOTTLENECK, [3, 4, 6, 3])}.
 */
public final class Models {
    /** A registered architecture: its family, default classes and input, and its constructor. */
    public record Entry(String name, String family, int defaultClasses, int defaultSize,
                        Function<ModelConfig, Module> factory) {
        public Module create(ModelConfig c) {
            return factory.apply(c);
        }

        public Module create() {
            return factory.apply(ModelConfig.defaults(defaultClasses));
        }

        /** The same architecture with meta (shape-only) parameters: free to build, for summaries. */
        public Module createMeta(ModelConfig c) {
            return Module.buildMeta(() -> factory.apply(c));
        }

        public boolean isCifar() {
            return defaultSize == 32;
        }
    }

    private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();

    static {
        // torchvision ImageNet models (He et al. 2015, Table 1; Xie et al. 2017; Zagoruyko & Komodakis 2016)
        imagenet("resnet18", "ResNet", c -> new ResNet(BASIC, new int[] {2, 2, 2, 2}, 1, 64, c));
        imagenet("resnet34", "ResNet", c -> new ResNet(BASIC, new int[] {3, 4, 6, 3}, 1, 64, c));
        imagenet("resnet50", "ResNet", c -> new ResNet(BOTTLENECK, new int[] {3, 4, 6, 3}, 1, 64, c));
        imagenet("resnet101", "ResNet", c -> new ResNet(BOTTLENECK, new int[] {3, 4, 23, 3}, 1, 64, c));
        imagenet("resnet152", "ResNet", c -> new ResNet(BOTTLENECK, new int[] {3, 8, 36, 3}, 1, 64, c));
        imagenet("resnext50_32x4d", "ResNeXt", c -> new ResNet(BOTTLENECK, new int[] {3, 4, 6, 3}, 32, 4, c));
        imagenet("resnext101_32x8d", "ResNeXt", c -> new ResNet(BOTTLENECK, new int[] {3, 4, 23, 3}, 32, 8, c));
        imagenet("resnext101_64x4d", "ResNeXt", c -> new ResNet(BOTTLENECK, new int[] {3, 4, 23, 3}, 64, 4, c));
        imagenet("wide_resnet50_2", "Wide ResNet", c -> new ResNet(BOTTLENECK, new int[] {3, 4, 6, 3}, 1, 128, c));
        imagenet("wide_resnet101_2", "Wide ResNet", c -> new ResNet(BOTTLENECK, new int[] {3, 4, 23, 3}, 1, 128, c));
        // CIFAR nets of He et al. 2015, section 4.2 (6n+2 layers), with and without shortcuts
        // resnet8 (n = 1) is not in the paper's table: the smallest member, for quick demos
        for (int depth : new int[] {8, 20, 32, 44, 56, 110, 1202}) {
            cifar("resnet" + depth, "CIFAR ResNet", c -> new CifarResNet(depth, false, c));
        }
        for (int depth : new int[] {20, 32, 44, 56, 110}) {
            cifar("plain" + depth, "CIFAR plain", c -> new CifarResNet(depth, true, c));
        }
        // Pre-activation ResNets (He et al. 2016)
        imagenet("preact_resnet18", "Pre-act ResNet", c -> PreActResNet.imagenet(false, new int[] {2, 2, 2, 2}, c));
        imagenet("preact_resnet34", "Pre-act ResNet", c -> PreActResNet.imagenet(false, new int[] {3, 4, 6, 3}, c));
        imagenet("preact_resnet50", "Pre-act ResNet", c -> PreActResNet.imagenet(true, new int[] {3, 4, 6, 3}, c));
        imagenet("preact_resnet101", "Pre-act ResNet", c -> PreActResNet.imagenet(true, new int[] {3, 4, 23, 3}, c));
        imagenet("preact_resnet152", "Pre-act ResNet", c -> PreActResNet.imagenet(true, new int[] {3, 8, 36, 3}, c));
        cifar("preact_resnet110", "CIFAR pre-act ResNet", c -> PreActResNet.cifar(110, false, c));
        cifar("preact_resnet164", "CIFAR pre-act ResNet", c -> PreActResNet.cifar(164, true, c));
    }

    private Models() {}

    private static void imagenet(String name, String family, Function<ModelConfig, Module> f) {
        REGISTRY.put(name, new Entry(name, family, 1000, 224, f));
    }

    private static void cifar(String name, String family, Function<ModelConfig, Module> f) {
        REGISTRY.put(name, new Entry(name, family, 10, 32, f));
    }

    public static Map<String, Entry> all() {
        return Collections.unmodifiableMap(REGISTRY);
    }

    /** The entry for a name, or an error listing the known names. */
    public static Entry get(String name) {
        Entry e = REGISTRY.get(name);
        if (e == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'; known models: " + String.join(", ", REGISTRY.keySet()));
        }
        return e;
    }

    public static Module create(String name, ModelConfig c) {
        return get(name).create(c);
    }

    public static Module create(String name) {
        return get(name).create();
    }
}
