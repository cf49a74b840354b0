package org.resnet4j.segmentation;

import java.util.LinkedHashMap;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.MultiOutput;

/**
 * torchvision's _SimpleSegmentationModel, the shape of both FCN (Long et al. 2015) and DeepLabV3
 * (Chen et al. 2017): a dilated ResNet {@code backbone}, a {@code classifier} head on its last
 * map and an optional {@code aux_classifier} on layer3, each output upsampled bilinearly
 * (align_corners False) to the input's height and width, so both are per-pixel class scores
 * [N, classes, H, W]. {@link #forwardAll} returns {@code out} and, with the auxiliary head,
 * {@code aux} (what torchvision's forward returns as a dict); {@link #forward} returns {@code out}
 * alone and skips the auxiliary head, which only training uses.
 */
public final class SegmentationModel extends Module implements MultiOutput {
    private final String family;
    private final Backbone backbone;
    private final Module classifier, auxClassifier;
    private final int classes;

    public SegmentationModel(String family, Backbone backbone, Module classifier, Module auxClassifier, int classes) {
        this.family = family;
        this.classes = classes;
        this.backbone = register("backbone", backbone);
        this.classifier = register("classifier", classifier);
        this.auxClassifier = auxClassifier == null ? null : register("aux_classifier", auxClassifier);
    }

    public Backbone backbone() {
        return backbone;
    }

    public boolean hasAux() {
        return auxClassifier != null;
    }

    public int classes() {
        return classes;
    }

    /** "FCN" or "DeepLabV3". */
    public String family() {
        return family;
    }

    @Override
    public Variable forward(Variable x) {
        return run(x, false).get("out");
    }

    @Override
    public LinkedHashMap<String, Variable> forwardAll(Variable x) {
        return run(x, hasAux());
    }

    private LinkedHashMap<String, Variable> run(Variable x, boolean aux) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException(family + " expects NCHW input, got " + x.value().shapeString());
        LinkedHashMap<String, Variable> features = backbone.features(x, aux);
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        out.put("out", UpsampleOp.apply(classifier.call(features.get("out")), s[2], s[3], UpsampleOp.Mode.BILINEAR, false));
        if (aux) out.put("aux", UpsampleOp.apply(auxClassifier.call(features.get("aux")), s[2], s[3], UpsampleOp.Mode.BILINEAR, false));
        return out;
    }

    @Override
    public String describe() {
        return family + "(classes=" + classes + (hasAux() ? ", aux" : "") + ")";
    }
}
