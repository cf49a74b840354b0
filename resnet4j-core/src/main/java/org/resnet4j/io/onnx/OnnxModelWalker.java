package org.resnet4j.io.onnx;

import static org.resnet4j.io.onnx.OnnxGraph.AUX;
import static org.resnet4j.io.onnx.OnnxGraph.OUT;
import static org.resnet4j.io.onnx.OnnxGraph.join;
import static org.resnet4j.io.onnx.OnnxGraph.label;
import static org.resnet4j.io.onnx.OnnxGraph.where;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.resnet4j.io.onnx.OnnxGraph.Value;
import org.resnet4j.models.BasicBlock;
import org.resnet4j.models.Bottleneck;
import org.resnet4j.models.CifarResNet;
import org.resnet4j.models.PreActResNet;
import org.resnet4j.models.ResNet;
import org.resnet4j.nn.AdaptiveAvgPool2d;
import org.resnet4j.nn.AvgPool2d;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.Flatten;
import org.resnet4j.nn.Identity;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.MaxPool2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;
import org.resnet4j.nn.Upsample;
import org.resnet4j.segmentation.Aspp;
import org.resnet4j.segmentation.AsppPooling;
import org.resnet4j.segmentation.Backbone;
import org.resnet4j.segmentation.SegmentationModel;

/**
 * Walks the modules in forward order and has an {@link OnnxGraph} emit each layer as it is reached.
 * Layers are dispatched on their type; networks and residual blocks (ResNet, CifarResNet,
 * PreActResNet and their blocks, the segmentation models and their ASPP) are walked through their
 * registered children, checked to be exactly the ones their {@code forward} uses, so that an
 * unknown structure is refused rather than exported wrongly.
 */
final class OnnxModelWalker {
    // Blocks not visible outside the models package, so recognised by class name.
    private static final String CIFAR_BLOCK = "org.resnet4j.models.CifarResNet$CifarBlock";
    private static final String PAD_SHORTCUT = "org.resnet4j.models.CifarResNet$PadShortcut";
    private static final String PREACT_BLOCK = "org.resnet4j.models.PreActResNet$PreActBlock";
    private static final String PREACT_BOTTLENECK = "org.resnet4j.models.PreActResNet$PreActBottleneck";

    private final OnnxGraph g;
    /** Inside a CifarResNet: whether it is the plain (shortcut-free) variant. */
    private Boolean cifarPlain;

    OnnxModelWalker(OnnxGraph g) {
        this.g = g;
    }

    // -------------------------------------------------------------- dispatch

    /**
     * The graph's outputs by name: a segmentation model's {@code forwardAll} ("out" and, with the
     * auxiliary head, "aux"), otherwise the one output {@code single}.
     */
    LinkedHashMap<String, Value> outputs(Module m, Value x, String single) {
        if (m instanceof SegmentationModel s) return segmentation(s, "", x, s.hasAux());
        LinkedHashMap<String, Value> out = new LinkedHashMap<>();
        out.put(single, emit(m, "", x));
        return out;
    }

    Value emit(Module m, String path, Value x) {
        return switch (m) {
            case Sequential s -> chain(s, path, x, s.children().keySet().toArray(String[]::new));
            case Conv2d c -> g.conv(c, path, null, null, x);
            case BatchNorm2d bn -> g.batchNorm(bn, path, x);
            case ReLU _ -> g.relu(path, x);
            case MaxPool2d p -> g.maxPool(p, path, x);
            case AvgPool2d p -> g.avgPool(p, path, x);
            case AdaptiveAvgPool2d p -> g.adaptiveAvgPool(p, path, x);
            case Flatten _ -> g.flatten(label(path, "flatten"), x);
            case Linear l -> g.gemm(l, path, x);
            case Dropout _, Identity _ -> x; // dropout is the identity in eval mode, which is what is exported
            case Upsample u -> g.resize(u, path, x);
            case ResNet r -> resNet(r, path, x);
            case CifarResNet r -> cifarResNet(r, path, x);
            case PreActResNet r -> preActResNet(r, path, x);
            case BasicBlock b -> basicBlock(b, path, x);
            case Bottleneck b -> bottleneck(b, path, x);
            case SegmentationModel s -> segmentation(s, path, x, false).get(OUT); // forward skips the auxiliary head
            case Backbone b -> backbone(b, path, x).get(OUT);
            case Aspp a -> aspp(a, path, x);
            case AsppPooling p -> asppPooling(p, path, x);
            default -> switch (m.getClass().getName()) {
                case CIFAR_BLOCK -> cifarBlock(m, path, x);
                case PREACT_BLOCK -> preActBlock(m, path, x, false);
                case PREACT_BOTTLENECK -> preActBlock(m, path, x, true);
                case PAD_SHORTCUT -> throw new IllegalArgumentException("cannot export a PadShortcut on its own at " + where(path)
                        + ": it is exported as part of its CifarBlock");
                default -> throw new IllegalArgumentException("cannot export " + m.getClass().getName() + " at " + where(path)
                        + ": the ONNX exporter does not know this module type");
            };
        };
    }


    /**
     * Applies the named children in order, as a forward method does; absent names are skipped
     * (optional layers such as dropout). A Conv2d immediately followed by a BatchNorm2d is one
     * folded Conv when folding: the conv's output goes nowhere but into that BN.
     */
    Value chain(Module parent, String path, Value x, String... names) {
        Map<String, Module> kids = parent.children();
        List<String> present = new ArrayList<>();
        for (String n : names) if (kids.containsKey(n)) present.add(n);
        for (int i = 0; i < present.size(); i++) {
            String n = present.get(i);
            Module m = kids.get(n);
            if (m instanceof Conv2d c && g.fold && i + 1 < present.size() && kids.get(present.get(i + 1)) instanceof BatchNorm2d bn) {
                x = g.conv(c, join(path, n), bn, join(path, present.get(i + 1)), x);
                i++;
            } else {
                x = emit(m, join(path, n), x);
            }
        }
        return x;
    }

    /** Checks that {@code m} has all of {@code required} and nothing outside required and optional. */
    static void expectChildren(Module m, String path, List<String> required, List<String> optional) {
        Set<String> have = m.children().keySet();
        List<String> missing = new ArrayList<>(), extra = new ArrayList<>();
        for (String r : required) if (!have.contains(r)) missing.add(r);
        for (String h : have) if (!required.contains(h) && !optional.contains(h)) extra.add(h);
        if (!missing.isEmpty() || !extra.isEmpty()) {
            throw new IllegalArgumentException("cannot export " + m.getClass().getSimpleName() + " at " + where(path)
                    + ": unexpected structure" + (missing.isEmpty() ? "" : ", missing " + missing)
                    + (extra.isEmpty() ? "" : ", unknown children " + extra));
        }
    }

    static <T extends Module> T child(Module m, String path, String name, Class<T> type) {
        Module c = m.children().get(name);
        if (!type.isInstance(c)) {
            throw new IllegalArgumentException("cannot export " + m.getClass().getSimpleName() + " at " + where(path) + ": child '"
                    + name + "' is " + (c == null ? "missing" : c.getClass().getSimpleName()) + ", expected " + type.getSimpleName());
        }
        return type.cast(c);
    }

    // -------------------------------------------------------------- models and blocks

    /** ResNet.forward: stem, max pool, four stages, pooling, flatten, [dropout], fc. */
    Value resNet(ResNet r, String path, Value x) {
        expectChildren(r, path, List.of("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"),
                List.of("dropout"));
        x = chain(r, path, x, "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool");
        x = g.flatten(join(path, "flatten"), x);
        return chain(r, path, x, "dropout", "fc");
    }

    /** CifarResNet.forward: conv-BN-ReLU stem, three stages, pooling, flatten, [dropout], fc. */
    Value cifarResNet(CifarResNet r, String path, Value x) {
        expectChildren(r, path, List.of("conv1", "bn1", "relu", "layer1", "layer2", "layer3", "avgpool", "fc"), List.of("dropout"));
        Boolean outer = cifarPlain;
        cifarPlain = isPlain(r, path);
        try {
            x = chain(r, path, x, "conv1", "bn1", "relu", "layer1", "layer2", "layer3", "avgpool");
        } finally {
            cifarPlain = outer;
        }
        x = g.flatten(join(path, "flatten"), x);
        return chain(r, path, x, "dropout", "fc");
    }

    /**
     * A plain net's blocks have no shortcut at all, a residual net's an identity where the
     * shape is kept: only a block that changes the shape tells them apart (a plain one has no
     * "shortcut" child there), and every CIFAR net has one, the first block of layer2.
     */
    private static boolean isPlain(Module r, String path) {
        Boolean plain = null;
        for (String stage : List.of("layer1", "layer2", "layer3")) {
            for (Module b : child(r, path, stage, Sequential.class).children().values()) {
                Module c1 = b.children().get("conv1");
                if (!(c1 instanceof Conv2d c) || (c.stride == 1 && c.in == c.out)) continue;
                boolean p = !b.children().containsKey("shortcut");
                if (plain != null && plain != p) {
                    throw new IllegalArgumentException("cannot export CifarResNet at " + where(path) + ": some shape-changing blocks have a shortcut and some do not");
                }
                plain = p;
            }
        }
        if (plain == null) throw new IllegalArgumentException("cannot export CifarResNet at " + where(path) + ": no block changes shape, so plain and residual nets cannot be told apart");
        return plain;
    }

    /** CifarBlock.forward: relu(bn2(conv2(relu(bn1(conv1 x)))) [+ shortcut(x)]). */
    Value cifarBlock(Module b, String path, Value x) {
        expectChildren(b, path, List.of("conv1", "bn1", "relu", "conv2", "bn2"), List.of("shortcut"));
        Conv2d conv1 = child(b, path, "conv1", Conv2d.class);
        Module shortcut = b.children().get("shortcut");
        boolean plain;
        if (cifarPlain != null) {
            plain = cifarPlain;
        } else if (shortcut != null || conv1.stride != 1 || conv1.in != conv1.out) {
            plain = shortcut == null;
        } else {
            throw new IllegalArgumentException("cannot export a CifarBlock on its own at " + where(path) + ": export its CifarResNet");
        }
        Value y = chain(b, path, x, "conv1", "bn1", "relu", "conv2", "bn2");
        if (!plain) {
            Value sc;
            if (shortcut == null) {
                sc = x;
            } else if (shortcut.getClass().getName().equals(PAD_SHORTCUT)) {
                // The block builds it as PadShortcut(stride, (out - in) / 2, out - in - (out - in) / 2).
                int extra = conv1.out - conv1.in;
                sc = g.padShortcut(join(path, "shortcut"), x, conv1.stride, extra / 2, extra - extra / 2);
            } else {
                sc = emit(shortcut, join(path, "shortcut"), x);
            }
            y = g.add(path, y, sc);
        }
        return emit(b.children().get("relu"), join(path, "relu"), y);
    }


    /** BasicBlock.forward: relu(bn2(conv2(relu(bn1(conv1 x)))) + downsample(x)). */
    Value basicBlock(BasicBlock b, String path, Value x) {
        expectChildren(b, path, List.of("conv1", "bn1", "relu", "conv2", "bn2"), List.of("downsample"));
        Value y = chain(b, path, x, "conv1", "bn1", "relu", "conv2", "bn2");
        return residual(b, path, x, y, "downsample", x);
    }

    /** Bottleneck.forward: relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1 x))))))) + downsample(x)). */
    Value bottleneck(Bottleneck b, String path, Value x) {
        expectChildren(b, path, List.of("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu"), List.of("downsample"));
        Value y = chain(b, path, x, "conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3");
        return residual(b, path, x, y, "downsample", x);
    }

    private Value residual(Module b, String path, Value x, Value y, String shortcutName, Value shortcutInput) {
        Module sc = b.children().get(shortcutName);
        Value id = sc == null ? x : emit(sc, join(path, shortcutName), shortcutInput);
        return emit(b.children().get("relu"), join(path, "relu"), g.add(path, y, id));
    }

    /**
     * PreActResNet.forward: stem (ImageNet: conv-BN-ReLU-maxpool "stem"; CIFAR: a bare
     * "conv1"), the stages, final BN-ReLU, pooling, flatten, [dropout], fc.
     */
    Value preActResNet(PreActResNet r, String path, Value x) {
        List<String> stages = new ArrayList<>();
        for (int i = 1; r.children().containsKey("layer" + i); i++) stages.add("layer" + i);
        Set<String> optional = new LinkedHashSet<>(stages);
        optional.addAll(List.of("stem", "conv1", "dropout"));
        expectChildren(r, path, List.of("final_bn", "relu", "avgpool", "fc"), List.copyOf(optional));
        boolean hasStem = r.children().containsKey("stem"), hasConv1 = r.children().containsKey("conv1");
        if (hasStem == hasConv1 || stages.isEmpty()) {
            throw new IllegalArgumentException("cannot export PreActResNet at " + where(path) + ": expected one of 'stem' or 'conv1' and at least 'layer1', found "
                    + r.children().keySet());
        }
        x = emit(r.children().get(hasStem ? "stem" : "conv1"), join(path, hasStem ? "stem" : "conv1"), x);
        x = chain(r, path, x, stages.toArray(String[]::new));
        x = chain(r, path, x, "final_bn", "relu", "avgpool");
        x = g.flatten(join(path, "flatten"), x);
        return chain(r, path, x, "dropout", "fc");
    }

    /**
     * PreActBlock / PreActBottleneck.forward: pre = relu(bn1(x)); the shortcut is the 1x1
     * projection of pre where present, else x itself; the body is conv1, then BN-ReLU-conv
     * once (basic) or twice (bottleneck). bn1 reads x, which the shortcut also reads, so it is
     * never folded; bn2 and bn3 follow a conv and are.
     */
    Value preActBlock(Module b, String path, Value x, boolean bottleneck) {
        List<String> body = bottleneck
                ? List.of("conv1", "bn2", "relu", "conv2", "bn3", "relu", "conv3")
                : List.of("conv1", "bn2", "relu", "conv2");
        List<String> required = new ArrayList<>(new LinkedHashSet<>(body));
        required.add("bn1");
        expectChildren(b, path, required, List.of("shortcut"));
        Value pre = chain(b, path, x, "bn1", "relu");
        Module sc = b.children().get("shortcut");
        Value id = sc == null ? x : emit(sc, join(path, "shortcut"), pre);
        Value y = chain(b, path, pre, body.toArray(String[]::new));
        return g.add(path, y, id);
    }

    // -------------------------------------------------------------- segmentation

    /**
     * SegmentationModel.forwardAll: the backbone's layer4 map through {@code classifier} and, with
     * {@code aux}, its layer3 map through {@code aux_classifier}, each resized bilinearly
     * (align_corners False) to the input's height and width.
     */
    LinkedHashMap<String, Value> segmentation(SegmentationModel s, String path, Value x, boolean aux) {
        expectChildren(s, path, List.of("backbone", "classifier"), List.of("aux_classifier"));
        OnnxGraph.expectRank(x, 4, s.family(), path);
        LinkedHashMap<String, Value> f = backbone(child(s, path, "backbone", Backbone.class), join(path, "backbone"), x);
        LinkedHashMap<String, Value> out = new LinkedHashMap<>();
        String head = join(path, "classifier");
        out.put(OUT, g.resizeTo(head, emit(s.children().get("classifier"), head, f.get(OUT)), x.dim(2), x.dim(3)));
        if (aux) {
            String auxHead = join(path, "aux_classifier");
            out.put(AUX, g.resizeTo(auxHead, emit(s.children().get("aux_classifier"), auxHead, f.get(AUX)), x.dim(2), x.dim(3)));
        }
        return out;
    }

    /**
     * Backbone = IntermediateLayerGetter(resnet, {"layer4": "out", "layer3": "aux"}): the trunk's
     * children in order up to layer4, layer3's output kept as "aux" (a CIFAR trunk: up to layer3,
     * layer2's output as "aux"). The dilated convs carry their
     * dilation in Conv's "dilations" attribute.
     */
    LinkedHashMap<String, Value> backbone(Backbone b, String path, Value x) {
        LinkedHashMap<String, Value> out = new LinkedHashMap<>();
        if (!b.children().containsKey("layer4")) { // Backbone.cifar: layer3 is "out", layer2 "aux"
            expectChildren(b, path, List.of("conv1", "bn1", "relu", "layer1", "layer2", "layer3"), List.of());
            Boolean outer = cifarPlain;
            cifarPlain = isPlain(b, path);
            try {
                Value layer2 = chain(b, path, x, "conv1", "bn1", "relu", "layer1", "layer2");
                out.put(OUT, chain(b, path, layer2, "layer3"));
                out.put(AUX, layer2);
            } finally {
                cifarPlain = outer;
            }
            return out;
        }
        expectChildren(b, path, List.of("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"), List.of());
        Value layer3 = chain(b, path, x, "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3");
        out.put(OUT, chain(b, path, layer3, "layer4"));
        out.put(AUX, layer3);
        return out;
    }

    /** ASPP.forward: every branch of {@code convs} on the same map, concatenated over channels, then {@code project}. */
    Value aspp(Aspp a, String path, Value x) {
        expectChildren(a, path, List.of("convs", "project"), List.of());
        String convs = join(path, "convs");
        List<Value> branches = new ArrayList<>();
        for (var e : a.children().get("convs").children().entrySet()) branches.add(emit(e.getValue(), join(convs, e.getKey()), x));
        if (branches.isEmpty()) throw new IllegalArgumentException("cannot export ASPP at " + where(path) + ": no branches");
        return emit(a.children().get("project"), join(path, "project"), g.concat(path, branches, 1));
    }

    /**
     * ASPPPooling.forward: global average pool, 1x1 conv, BN, ReLU, then bilinear back to the
     * input map's size; from one pixel that is a broadcast, exported as the Resize that torch.onnx
     * writes for it.
     */
    Value asppPooling(AsppPooling p, String path, Value x) {
        expectChildren(p, path, List.of("0", "1", "2", "3"), List.of());
        return g.resizeTo(path, chain(p, path, x, "0", "1", "2", "3"), x.dim(2), x.dim(3));
    }
}
