package org.resnet4j.models;

import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Module;

/**
 * Named intermediate outputs from one forward pass, as torchvision's
 * {@code create_feature_extractor(model, return_nodes)}: pick modules by their state_dict-style
 * names and get their outputs. For torchvision-layout ResNets, {@link #backbone} returns the
 * feature pyramid C2..C5 (layer1..layer4, strides 4, 8, 16, 32) and the pooled embedding, what
 * detection (FPN) and segmentation heads consume.
 */
public final class FeatureExtractor {
    private final Module model;
    private final List<String> names;
    private final IdentityHashMap<Module, String> wanted = new IdentityHashMap<>();

    public FeatureExtractor(Module model, List<String> names) {
        this.model = model;
        this.names = List.copyOf(names);
        Map<String, Module> modules = model.namedModules();
        for (String n : names) {
            Module m = modules.get(n);
            if (m == null || n.isEmpty()) {
                throw new IllegalArgumentException("no module named '" + n + "'; top-level modules: " + model.children().keySet());
            }
            wanted.put(m, n);
        }
    }

    /** C2..C5 and the pooled embedding of a ResNet: "layer1".."layer4" and "avgpool". */
    public static FeatureExtractor backbone(Module model) {
        return new FeatureExtractor(model, List.of("layer1", "layer2", "layer3", "layer4", "avgpool"));
    }

    /**
     * Runs the model once and returns the requested outputs in the order asked (each module's
     * first output when it runs more than once). Records the graph as usual when grad mode is
     * on, so the features can be trained through.
     */
    public LinkedHashMap<String, Variable> apply(Variable x) {
        Map<String, Variable> got = new java.util.HashMap<>();
        Module.withForwardHook((m, y) -> {
            String n = wanted.get(m);
            if (n != null) got.putIfAbsent(n, y);
        }, () -> model.call(x));
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        for (String n : names) {
            Variable v = got.get(n);
            if (v == null) throw new IllegalStateException("module '" + n + "' did not run in the forward pass");
            out.put(n, v);
        }
        return out;
    }

    public List<String> names() {
        return names;
    }
}
