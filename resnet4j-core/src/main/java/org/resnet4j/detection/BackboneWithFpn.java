package org.resnet4j.detection;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.models.IntermediateLayerGetter;
import org.resnet4j.models.Models;
import org.resnet4j.models.ResNet;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.MultiOutput;
import org.resnet4j.nn.Parameter;

/**
 * torchvision's BackboneWithFPN (models/detection/backbone_utils.py): a ResNet body
 * ({@link IntermediateLayerGetter}, state_dict prefix {@code body.}) and a
 * {@link FeaturePyramidNetwork} on its stages (prefix {@code fpn.}). Inside FCOS it is the child
 * {@code backbone}, so its keys there are {@code backbone.body.conv1.weight},
 * {@code backbone.fpn.inner_blocks.0.0.weight}, ... The outputs are named as torchvision's: "0",
 * "1", "2" for C3..C5's levels (P3..P5, strides 8, 16, 32), then "p6", "p7" (strides 64, 128).
 *
 * <p>{@link #resnetFpnExtractor} is torchvision's {@code _resnet_fpn_extractor};
 * {@link #fcosResNetFpn} builds the backbone as {@code fcos_resnet50_fpn} does.
 */
public final class BackboneWithFpn extends Module implements MultiOutput {
    public final IntermediateLayerGetter body;
    public final FeaturePyramidNetwork fpn;
    public final int outChannels;

    public BackboneWithFpn(IntermediateLayerGetter body, FeaturePyramidNetwork fpn) {
        this.body = register("body", body);
        this.fpn = register("fpn", fpn);
        this.outChannels = fpn.outChannels;
    }

    /** The pyramid's levels by name: "0", "1", "2", "p6", "p7" for FCOS. */
    @Override
    public LinkedHashMap<String, Variable> forwardAll(Variable x) {
        return fpn.apply(body.forwardAll(x));
    }

    /** The first (finest) level. */
    @Override
    public Variable forward(Variable x) {
        return forwardAll(x).values().iterator().next();
    }

    /**
     * torchvision's {@code _resnet_fpn_extractor(backbone, trainable_layers, returned_layers,
     * extra_blocks)}: freezes every parameter of {@code backbone} outside the last
     * {@code trainableLayers} of (layer4, layer3, layer2, layer1, conv1) (all 5: bn1 too), keeps
     * layer{k} for k in {@code returnedLayers} as outputs "0", "1", ..., and puts a 256-channel
     * pyramid on them whose inputs have in_channels_stage2 * 2^(k - 1) channels,
     * in_channels_stage2 = the ResNet's final width / 8 (256 for resnet50, 64 for resnet18).
     */
    public static BackboneWithFpn resnetFpnExtractor(ResNet backbone, int trainableLayers, int[] returnedLayers,
                                                     LastLevelP6P7 extraBlocks) {
        return resnetFpnExtractor(backbone, trainableLayers, returnedLayers, extraBlocks, 256);
    }

    /** As {@link #resnetFpnExtractor(ResNet, int, int[], LastLevelP6P7)} with an {@code fpnChannels}-channel pyramid (torchvision's out_channels). */
    public static BackboneWithFpn resnetFpnExtractor(ResNet backbone, int trainableLayers, int[] returnedLayers,
                                                     LastLevelP6P7 extraBlocks, int fpnChannels) {
        if (trainableLayers < 0 || trainableLayers > 5) {
            throw new IllegalArgumentException("Trainable layers should be in the range [0,5], got " + trainableLayers);
        }
        List<String> layersToTrain = new ArrayList<>(List.of("layer4", "layer3", "layer2", "layer1", "conv1").subList(0, trainableLayers));
        if (trainableLayers == 5) layersToTrain.add("bn1");
        for (var e : backbone.namedParameters().entrySet()) {
            // torchvision's test is name.startswith(layer), without a dot
            if (layersToTrain.stream().noneMatch(e.getKey()::startsWith)) e.getValue().setRequiresGrad(false);
        }
        if (returnedLayers.length == 0) throw new IllegalArgumentException("returned layers must not be empty");
        LinkedHashMap<String, String> returnLayers = new LinkedHashMap<>();
        int stage2 = backbone.head().in / 8;
        int[] inChannels = new int[returnedLayers.length];
        for (int v = 0; v < returnedLayers.length; v++) {
            int k = returnedLayers[v];
            if (k <= 0 || k >= 5) {
                throw new IllegalArgumentException("Each returned layer should be in the range [1,4]. Got "
                        + java.util.Arrays.toString(returnedLayers));
            }
            returnLayers.put("layer" + k, Integer.toString(v));
            inChannels[v] = stage2 << (k - 1);
        }
        return new BackboneWithFpn(new IntermediateLayerGetter(backbone, returnLayers), new FeaturePyramidNetwork(inChannels, fpnChannels, extraBlocks));
    }

    /**
     * The backbone of torchvision's {@code fcos_resnet50_fpn} (models/detection/fcos.py) on any
     * torchvision ResNet ({@code "resnet50"}; {@code "resnet18"} for a small one): with
     * {@code weightsGiven} (pretrained weights to be loaded) its batch norms are FrozenBatchNorm2d
     * and {@code trainableLayers} defaults to 3; without, BatchNorm2d and every layer trainable
     * (torchvision then ignores trainableLayers, with a warning; here it must be null or 5).
     * Returned layers 2, 3, 4 and LastLevelP6P7(256, 256): P6 from P5.
     */
    public static BackboneWithFpn fcosResNetFpn(String resnet, boolean weightsGiven, Integer trainableLayers) {
        if (!weightsGiven && trainableLayers != null && trainableLayers != 5) {
            throw new IllegalArgumentException("without pretrained weights every layer is trained (torchvision falls back to 5),"
                    + " got trainable layers " + trainableLayers);
        }
        int trainable = trainableLayers == null ? (weightsGiven ? 3 : 5) : trainableLayers;
        if (trainable < 0 || trainable > 5) {
            throw new IllegalArgumentException("Trainable backbone layers should be in the range [0,5], got " + trainable);
        }
        Module m = Models.create(resnet);
        if (!(m instanceof ResNet net)) throw new IllegalArgumentException("'" + resnet + "' is not a torchvision-layout ResNet");
        if (weightsGiven) BatchNorm2d.freezeAll(net);
        return resnetFpnExtractor(net, trainable, new int[] {2, 3, 4}, new LastLevelP6P7(256, 256));
    }

    /**
     * A small FCOS backbone for small images: the ResNet-18 layout ({@link ResNet#narrow}, basic
     * blocks [2, 2, 2, 2]) at stage widths {@code width}, 2, 4 and 8 times it, layers 2, 3, 4
     * (strides 8, 16, 32) into an {@code fpnChannels}-channel pyramid with P6 and P7 from P5, as
     * {@link #fcosResNetFpn} builds torchvision's. With {@code weightsGiven} the batch norms are
     * FrozenBatchNorm2d and conv1 and layer1 frozen, as there; without (training from
     * scratch), BatchNorm2d and everything trainable.
     */
    public static BackboneWithFpn narrowResNetFpn(int width, int fpnChannels, boolean weightsGiven) {
        ResNet net = ResNet.narrow(ResNet.Block.BASIC, new int[] {2, 2, 2, 2}, width, org.resnet4j.models.ModelConfig.defaults(1000));
        if (weightsGiven) BatchNorm2d.freezeAll(net);
        return resnetFpnExtractor(net, weightsGiven ? 3 : 5, new int[] {2, 3, 4}, new LastLevelP6P7(fpnChannels, fpnChannels), fpnChannels);
    }

    /** How many parameter values get a gradient (torchvision: numel of parameters with requires_grad). */
    public long trainableParameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) if (p.requiresGrad()) n += p.value().size();
        return n;
    }

    @Override
    public String describe() {
        return "BackboneWithFPN(" + body.describe() + ", " + fpn.describe() + ")";
    }
}
