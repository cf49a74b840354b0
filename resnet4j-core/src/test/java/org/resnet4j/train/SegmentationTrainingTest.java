package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.Variable;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.nn.Init;
import org.resnet4j.segmentation.SegmentationLoss;
import org.resnet4j.segmentation.SegmentationModel;
import org.resnet4j.segmentation.SegmentationModels;
import org.resnet4j.tensor.Tensor;

/**
 * End to end: a small preset learns SyntheticShapes' masks (background 0, shape k as k + 1, the
 * one-pixel border between them ignored as 255, like PASCAL VOC's void outlines) with the
 * reference loss, out + 0.5 aux, and SGD: the loss falls well below its start in a few steps.
 */
class SegmentationTrainingTest {
    @Test
    void aSmallPresetFitsSyntheticShapeMasks() {
        int n = 4, size = 32, classes = SyntheticShapes.CLASSES.size() + 1;
        SyntheticShapes data = new SyntheticShapes(n, 11, size);
        Tensor images = Tensor.zeros(n, 3, size, size), target = Tensor.zeros(n, size, size);
        int ignored = 0;
        for (int i = 0; i < n; i++) {
            System.arraycopy(data.get(i).image().data(), 0, images.data(), i * 3 * size * size, 3 * size * size);
            SyntheticShapes.Annotation a = data.annotation(i);
            float[] m = a.mask().data();
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    boolean border = false;
                    for (int dy = -1; dy <= 1; dy++) {
                        for (int dx = -1; dx <= 1; dx++) {
                            int yy = Math.clamp(y + dy, 0, size - 1), xx = Math.clamp(x + dx, 0, size - 1);
                            border |= m[yy * size + xx] != m[y * size + x];
                        }
                    }
                    float v = border ? SegmentationLoss.IGNORE_INDEX : m[y * size + x] > 0 ? a.label() + 1 : 0;
                    if (border) ignored++;
                    target.data()[(i * size + y) * size + x] = v;
                }
            }
        }
        assertTrue(ignored > 0);
        Init.manualSeed(5);
        SegmentationModel net = SegmentationModels.create("fcn_resnet18", classes, true);
        net.train();
        SGD opt = new SGD(ParamGroups.of(net, false), 0.02, 0.9, 0);
        float first = 0, last = 0;
        for (int step = 0; step < 10; step++) {
            Variable loss = SegmentationLoss.criterion(net.forwardAll(Variable.constant(images)), target);
            last = loss.value().data()[0];
            if (step == 0) first = last;
            loss.backward();
            opt.step();
            opt.zeroGrad();
        }
        System.out.printf("segmentation training: loss %.4f -> %.4f in 10 steps%n", first, last);
        assertTrue(Float.isFinite(last) && last < 0.5f * first, "loss " + first + " -> " + last);
    }
}
