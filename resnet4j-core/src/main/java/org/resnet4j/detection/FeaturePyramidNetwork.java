package org.resnet4j.detection;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Sequential;

/**
 * torchvision's FeaturePyramidNetwork (ops/feature_pyramid_network.py; Lin et al. 2017, "Feature
 * Pyramid Networks for Object Detection", section 3): for backbone maps C_i of increasing depth, a
 * 1x1 lateral conv brings each to {@code outChannels}; from the deepest down, the running top-down
 * map is upsampled (nearest) to the next lateral's size and added to it, and a 3x3 conv on each
 * sum gives P_i ("to reduce the aliasing effect of upsampling"). Nearest upsampling to the
 * lateral's size, not by 2, so odd sizes (a 7x9 map under a 4x5 one) work as in torchvision.
 *
 * <p>state_dict as torchvision's (version 2): {@code inner_blocks.i.0.weight/bias},
 * {@code layer_blocks.i.0.weight/bias} (each block a Conv2dNormActivation without norm, so a conv
 * with bias inside a Sequential), then the extra block's. Convs initialized as torchvision:
 * kaiming_uniform_(a=1) weights (bound sqrt(3 / fan_in)), zero biases.
 */
public final class FeaturePyramidNetwork extends Module {
    private final Sequential innerBlocks, layerBlocks;
    private final LastLevelP6P7 extraBlocks;
    public final int outChannels;

    /** {@code extraBlocks} may be null (then the outputs are only the inputs' levels). */
    public FeaturePyramidNetwork(int[] inChannels, int outChannels, LastLevelP6P7 extraBlocks) {
        if (inChannels.length == 0) throw new IllegalArgumentException("FeaturePyramidNetwork needs at least one input level");
        innerBlocks = register("inner_blocks", new Sequential());
        layerBlocks = register("layer_blocks", new Sequential());
        for (int c : inChannels) {
            if (c <= 0) throw new IllegalArgumentException("FeaturePyramidNetwork: in_channels=" + c + " is not supported");
            Conv2d inner = new Conv2d(c, outChannels, 1, 1, 0, 1, 1, true);
            Conv2d layer = new Conv2d(outChannels, outChannels, 3, 1, 1, 1, 1, true);
            LastLevelP6P7.initAsTorchvision(inner);
            LastLevelP6P7.initAsTorchvision(layer);
            innerBlocks.add(new Sequential(inner));
            layerBlocks.add(new Sequential(layer));
        }
        this.outChannels = outChannels;
        this.extraBlocks = extraBlocks == null ? null : register("extra_blocks", extraBlocks);
    }

    public int levels() {
        return innerBlocks.size();
    }

    /**
     * The pyramid over {@code features} (named maps, shallowest first, channels as constructed):
     * one output per input under the input's name, then the extra block's ("p6", "p7"), highest
     * resolution first.
     */
    public LinkedHashMap<String, Variable> apply(LinkedHashMap<String, Variable> features) {
        int n = levels();
        if (features.size() != n) {
            throw new IllegalArgumentException("FeaturePyramidNetwork has " + n + " levels but got " + features.size()
                    + " feature maps " + features.keySet());
        }
        List<String> names = new ArrayList<>(features.keySet());
        List<Variable> xs = new ArrayList<>(features.values());
        for (int i = 0; i < n; i++) {
            int want = ((Conv2d) ((Sequential) innerBlocks.get(i)).get(0)).in;
            int[] s = xs.get(i).shape();
            if (s.length != 4 || s[1] != want) {
                throw new IllegalArgumentException("FeaturePyramidNetwork level " + i + " ('" + names.get(i) + "') expects [N, " + want
                        + ", H, W], got " + xs.get(i).value().shapeString());
            }
        }
        Variable lastInner = innerBlocks.get(n - 1).call(xs.get(n - 1));
        List<Variable> results = new ArrayList<>();
        results.add(layerBlocks.get(n - 1).call(lastInner));
        for (int i = n - 2; i >= 0; i--) {
            Variable lateral = innerBlocks.get(i).call(xs.get(i));
            int[] s = lateral.shape();
            Variable topDown = UpsampleOp.apply(lastInner, s[2], s[3], UpsampleOp.Mode.NEAREST);
            lastInner = AddOp.apply(lateral, topDown);
            results.add(0, layerBlocks.get(i).call(lastInner));
        }
        if (extraBlocks != null) extraBlocks.extend(results, xs, names);
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        for (int i = 0; i < results.size(); i++) out.put(names.get(i), results.get(i));
        return out;
    }

    /** Not a one-input layer: use {@link #apply(LinkedHashMap)} with the named feature maps. */
    @Override
    public Variable forward(Variable x) {
        throw new UnsupportedOperationException("FeaturePyramidNetwork takes named feature maps: call apply(features)");
    }

    @Override
    public String describe() {
        return "FeaturePyramidNetwork(" + levels() + " levels, " + outChannels + " channels"
                + (extraBlocks == null ? "" : ", " + extraBlocks.describe()) + ")";
    }
}
