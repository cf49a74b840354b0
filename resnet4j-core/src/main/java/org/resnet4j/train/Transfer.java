package org.resnet4j.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.resnet4j.io.pth.Pth;
import org.resnet4j.io.safetensors.SafeTensors;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

/**
 * Transfer learning helpers: load a backbone from a torchvision or resnet4j state_dict into a
 * model whose head may differ, freeze BN statistics, and give the new head its own learning rate
 * (the usual fine-tuning recipe: Yosinski et al. 2014; Howard and Ruder 2018 for discriminative rates).
 */
public final class Transfer {
    /** The classifier of every registered model. */
    public static final String HEAD = "fc";

    private Transfer() {}

    /**
     * A state_dict from a .pth (torch.save, restricted unpickler) or .safetensors file; from a
     * resnet4j training checkpoint, the weights it was evaluated with (its EMA weights when the
     * run kept an EMA, else its {@code model/} entries, as {@link TrainedModel#load}), so a run's
     * {@code best.safetensors} can seed another run.
     */
    public static LinkedHashMap<String, Tensor> readStateDict(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase();
        if (name.endsWith(".pth") || name.endsWith(".pt") || name.endsWith(".bin")) return Pth.read(file);
        SafeTensors.Contents c = SafeTensors.read(file);
        if (!c.metadata().containsKey(Checkpoint.METADATA_KEY)) return c.tensors();
        return Checkpoint.evaluatedWeights(c);
    }

    /**
     * Loads every backbone weight strictly (missing, unexpected or mis-shaped keys outside the
     * head are errors, nothing is written then) and the head only when its shapes match; a head
     * of another size keeps its fresh initialization, as when fine-tuning to a new class count.
     */
    public static void loadBackbone(Module model, Path file, PrintStream out) throws IOException {
        loadBackbone(model, file, false, out);
    }

    /**
     * As {@link #loadBackbone(Module, Path, PrintStream)}; with {@code newHead} the file's head is
     * never loaded, for a target task whose classes differ from the source's but number the same.
     */
    public static void loadBackbone(Module model, Path file, boolean newHead, PrintStream out) throws IOException {
        LinkedHashMap<String, Tensor> src = readStateDict(file);
        Map<String, Tensor> own = model.stateDict();
        List<String> skipped = new ArrayList<>();
        for (var e : own.entrySet()) {
            if (!e.getKey().startsWith(HEAD + ".")) continue;
            Tensor t = src.get(e.getKey());
            if (t != null && (newHead || !t.sameShape(e.getValue()))) skipped.add(e.getKey() + " " + t.shapeString());
        }
        if (!skipped.isEmpty()) src.keySet().removeIf(k -> k.startsWith(HEAD + "."));
        // every key checked before anything is written: only the head may be missing
        List<String> missing = own.keySet().stream().filter(k -> !src.containsKey(k) && !k.startsWith(HEAD + ".")).toList();
        List<String> unexpected = src.keySet().stream().filter(k -> !own.containsKey(k)).toList();
        if (!missing.isEmpty() || !unexpected.isEmpty()) {
            throw new IllegalArgumentException(file + ": does not fit " + model.getClass().getSimpleName()
                    + (missing.isEmpty() ? "" : "; missing " + abbreviate(missing)) + (unexpected.isEmpty() ? "" : "; unexpected " + abbreviate(unexpected)));
        }
        Module.LoadReport r;
        try {
            r = model.loadStateDict(src, false); // still refuses wrong shapes before writing
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
        out.println("loaded " + (own.size() - r.missing().size()) + " tensors from " + file
                + (skipped.isEmpty() ? "" : newHead ? "; new head, as asked (the file's " + String.join(", ", skipped) + " not loaded)"
                        : "; new head (the file's " + String.join(", ", skipped) + " did not fit)"));
    }

    private static String abbreviate(List<String> keys) {
        return keys.size() <= 10 ? keys.toString() : keys.subList(0, 10) + " and " + (keys.size() - 10) + " more";
    }

    /** Every BatchNorm2d on its running statistics with fixed affine parameters, through later train() calls. */
    public static void freezeBatchNorm(Module model) {
        for (Module m : model.namedModules().values()) if (m instanceof BatchNorm2d bn) bn.setFrozen(true);
    }

    /**
     * ParamGroups.of's decay / no-decay split over all parameters, frozen ones included, with the
     * head's parameters in groups of their own at {@code headLrScale} times the base lr.
     */
    public static List<ParamGroup> groups(Module model, boolean noDecayOnBnAndBias, double headLrScale) {
        List<Parameter> frozen = new ArrayList<>();
        for (Parameter p : model.parameters()) if (!p.requiresGrad()) frozen.add(p);
        frozen.forEach(p -> p.setRequiresGrad(true));
        try {
            List<ParamGroup> base = ParamGroups.of(model, noDecayOnBnAndBias);
            if (headLrScale == 1) return base;
            List<ParamGroup> out = new ArrayList<>();
            for (ParamGroup g : base) {
                LinkedHashMap<String, Parameter> body = new LinkedHashMap<>(), head = new LinkedHashMap<>();
                g.params().forEach((k, p) -> (k.startsWith(HEAD + ".") ? head : body).put(k, p));
                ParamGroup b = new ParamGroup(g.name(), body), h = new ParamGroup(g.name() + "_head", head).setLrScale(headLrScale);
                g.weightDecay().ifPresent(wd -> { b.setWeightDecay(wd); h.setWeightDecay(wd); });
                out.add(b);
                out.add(h);
            }
            return out;
        } finally {
            frozen.forEach(p -> p.setRequiresGrad(false));
        }
    }
}
