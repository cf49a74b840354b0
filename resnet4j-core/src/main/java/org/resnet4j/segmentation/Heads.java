package org.resnet4j.segmentation;

import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Dropout;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/**
 * The classifier heads of torchvision's segmentation models, as the Sequentials they are there,
 * so their state_dict names ({@code classifier.0.weight}, {@code classifier.0.convs.1.0.weight},
 * ...) are torchvision's.
 */
public final class Heads {
    private Heads() {}

    /**
     * torchvision's FCNHead: 3x3 conv to in/4 channels (no bias), BN, ReLU, Dropout(0.1), 1x1 conv
     * to the classes (with bias). Long et al. 2015 score the last feature map with a 1x1 conv;
     * torchvision puts a 3x3 conv + BN in front, and the same head scores layer3 as the auxiliary
     * classifier.
     */
    public static Sequential fcn(int inChannels, int classes) {
        if (inChannels < 4) throw new IllegalArgumentException("FCNHead needs at least 4 input channels (in/4 inner), got " + inChannels);
        int inner = inChannels / 4;
        return new Sequential(new Conv2d(inChannels, inner, 3, 1, 1), new BatchNorm2d(inner), new ReLU(), new Dropout(0.1f),
                new Conv2d(inner, classes, 1, 1, 0, 1, 1, true));
    }

    /**
     * torchvision's DeepLabHead: ASPP with rates 12, 24, 36 to 256 channels (Chen et al. 2017,
     * section 3.3, rates for output stride 8), a 3x3 conv (no bias), BN, ReLU, and a 1x1 conv to
     * the classes.
     */
    public static Sequential deepLab(int inChannels, int classes) {
        return new Sequential(new Aspp(inChannels, new int[] {12, 24, 36}, Aspp.CHANNELS), new Conv2d(Aspp.CHANNELS, Aspp.CHANNELS, 3, 1, 1),
                new BatchNorm2d(Aspp.CHANNELS), new ReLU(), new Conv2d(Aspp.CHANNELS, classes, 1, 1, 0, 1, 1, true));
    }
}
