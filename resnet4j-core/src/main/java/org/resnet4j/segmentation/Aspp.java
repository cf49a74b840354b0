package org.resnet4j.segmentation;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ConcatOp;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.ModuleList;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/**
 * Atrous Spatial Pyramid Pooling, DeepLabV3's (Chen et al. 2017, section 3.3) in torchvision's
 * layout: parallel branches over the same map, a 1x1 conv, one 3x3 atrous conv per rate
 * (padding = rate, so each keeps the map's size) and image-level pooling ({@link AsppPooling}),
 * each conv + BN + ReLU; their concat is projected by a 1x1 conv + BN + ReLU + Dropout(0.5).
 * Members {@code convs.0} (1x1), {@code convs.1..} (rates), {@code convs.N} (pooling), {@code project}.
 */
public final class Aspp extends Module {
    /** torchvision's ASPP width. */
    public static final int CHANNELS = 256;
    private final ModuleList convs;
    private final Sequential project;

    public Aspp(int inChannels, int[] rates, int outChannels) {
        convs = register("convs", new ModuleList());
        convs.add(new Sequential(new Conv2d(inChannels, outChannels, 1, 1, 0), new BatchNorm2d(outChannels), new ReLU()));
        for (int rate : rates) {
            if (rate < 1) throw new IllegalArgumentException("ASPP rates must be >= 1, got " + rate);
            convs.add(new Sequential(new Conv2d(inChannels, outChannels, 3, 1, rate, rate, 1, false), new BatchNorm2d(outChannels), new ReLU()));
        }
        convs.add(new AsppPooling(inChannels, outChannels));
        project = register("project", new Sequential(new Conv2d(convs.size() * outChannels, outChannels, 1, 1, 0),
                new BatchNorm2d(outChannels), new ReLU(), new Dropout(0.5f)));
    }

    @Override
    public Variable forward(Variable x) {
        Variable[] branches = new Variable[convs.size()];
        for (int i = 0; i < branches.length; i++) branches[i] = convs.get(i).call(x);
        return project.call(ConcatOp.apply(1, branches));
    }

    @Override
    public String describe() {
        return "ASPP(" + convs.size() + " branches)";
    }
}
