package org.resnet4j.detection;

import java.util.LinkedHashMap;
import java.util.Map;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.MultiOutput;

/**
 * torchvision's IntermediateLayerGetter (models/_utils.py): a model's top-level children, in
 * registration order, up to the last one whose output is wanted (for a ResNet: conv1, bn1, relu,
 * maxpool, layer1..layer4, without avgpool and fc), run in sequence; the wanted outputs come back
 * under new names. The children are the model's own (shared, not copied), under their names, so
 * the state_dict keys are the model's less the dropped tail.
 */
public final class IntermediateLayerGetter extends Module implements MultiOutput {
    private final LinkedHashMap<String, String> returnLayers;

    /** {@code returnLayers}: child name to output name, e.g. layer2 -> "0", in the order the outputs should come. */
    public IntermediateLayerGetter(Module model, LinkedHashMap<String, String> returnLayers) {
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
        LinkedHashMap<String, Variable> got = new LinkedHashMap<>();
        for (var e : children().entrySet()) {
            x = e.getValue().call(x);
            String name = returnLayers.get(e.getKey());
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
