package org.resnet4j.models;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Fusion;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.MultiOutput;
import org.resnet4j.nn.ReLU;

/**
 * torchvision's IntermediateLayerGetter (models/_utils.py): a model's top-level children, in
 * registration order, up to the last one whose output is wanted (for a ResNet: conv1, bn1, relu,
 * maxpool, layer1..layer4, without avgpool and fc), run in sequence; the wanted outputs come back
 * under new names. The children are the model's own (shared, not copied), under their names, so
 * the state_dict keys are the model's less the dropped tail. The body of detection's
 * BackboneWithFpn and of segmentation's Backbone.
 *
 * <p>With {@code fuseStem}, a Conv2d, BatchNorm2d, ReLU run of children none of whose outputs
 * is wanted (a ResNet's stem) runs as {@link ResNet#forward} runs it: BN and ReLU as one op, and
 * in eval mode without a graph the whole run as one convolution with the BN folded
 * ({@link Fusion}). Without, each child runs on its own, as in torchvision. The two differ by
 * float32 rounding only; detection's body takes the second, segmentation's the first, and each
 * one's torchvision parity was measured on its own path.
 */
public class IntermediateLayerGetter extends Module implements MultiOutput {
    private final LinkedHashMap<String, String> returnLayers;
    private final boolean fuseStem;

    /** {@code returnLayers}: child name to output name, e.g. layer2 -> "0", in the order the outputs should come. */
    public IntermediateLayerGetter(Module model, LinkedHashMap<String, String> returnLayers) {
        this(model, returnLayers, false);
    }

    /** As {@link #IntermediateLayerGetter(Module, LinkedHashMap)}; {@code fuseStem}: run a conv, BN, ReLU stem fused (see above). */
    public IntermediateLayerGetter(Module model, LinkedHashMap<String, String> returnLayers, boolean fuseStem) {
        this.fuseStem = fuseStem;
        Map<String, Module> children = model.children();
        if (returnLayers.isEmpty() || !children.keySet().containsAll(returnLayers.keySet())) {
            throw new IllegalArgumentException("return layers " + returnLayers.keySet() + " are not all children of the model "
                    + children.keySet());
        }
        this.returnLayers = new LinkedHashMap<>(returnLayers);
        int left = returnLayers.size();
        for (var e : children.entrySet()) {
            register(e.getKey(), e.getValue());
            if (returnLayers.containsKey(e.getKey()) && --left == 0) break;
        }
    }

    @Override
    public LinkedHashMap<String, Variable> forwardAll(Variable x) {
        List<String> names = new ArrayList<>(children().keySet());
        List<Module> modules = new ArrayList<>(children().values());
        LinkedHashMap<String, Variable> got = new LinkedHashMap<>();
        for (int i = 0; i < modules.size(); i++) {
            if (fuseStem && i + 2 < modules.size() && modules.get(i) instanceof Conv2d conv && modules.get(i + 1) instanceof BatchNorm2d bn
                    && modules.get(i + 2) instanceof ReLU relu
                    && !returnLayers.containsKey(names.get(i)) && !returnLayers.containsKey(names.get(i + 1))) {
                x = Fusion.active(this) ? Fusion.convBn(conv, bn, x, null, true) : Fusion.bnRelu(bn, relu, conv.call(x));
                i += 2;
            } else {
                x = modules.get(i).call(x);
            }
            String name = returnLayers.get(names.get(i));
            if (name != null) got.put(name, x);
        }
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        for (String name : returnLayers.values()) out.put(name, got.get(name));
        return out;
    }

    /** The first requested output. */
    @Override
    public Variable forward(Variable x) {
        return forwardAll(x).values().iterator().next();
    }

    @Override
    public String describe() {
        return "IntermediateLayerGetter(" + returnLayers + ")";
    }
}
