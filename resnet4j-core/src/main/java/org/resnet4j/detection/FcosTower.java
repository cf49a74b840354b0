package org.resnet4j.detection;

import java.util.List;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.ConcatOp;
import org.resnet4j.autograd.ops.PermuteOp;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.GroupNorm;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.ReLU;
import org.resnet4j.nn.Sequential;

/** What the two FCOS head branches share: the conv tower and the per-level flattening to anchor rows. */
final class FcosTower {
    private FcosTower() {}

    /** torchvision's GroupNorm groups in the head: 32, which at its 256 channels is 8 channels a group. */
    static final int GROUPS = 32;

    /**
     * numConvs x [conv3x3 (channels -> channels, bias), GroupNorm(groups, channels), ReLU], as
     * torchvision's FCOSClassificationHead / FCOSRegressionHead build their {@code conv}
     * (Tian et al. 2019, Fig. 2: four convs per branch; GroupNorm as the FCOS code base uses, so the
     * head behaves the same at any batch size). Convs start as torchvision's: normal(std 0.01),
     * zero bias. State_dict {@code conv.0.weight}, {@code conv.0.bias}, {@code conv.1.weight},
     * {@code conv.1.bias} (GroupNorm), {@code conv.3...} and so on (ReLU has no state).
     * torchvision's head has 32 groups ({@link #GROUPS}); a narrower head takes fewer.
     */
    static Sequential tower(int channels, int numConvs, int groups) {
        if (numConvs < 0) throw new IllegalArgumentException("FCOS head: num_convs must be >= 0, got " + numConvs);
        Sequential s = new Sequential();
        for (int i = 0; i < numConvs; i++) {
            s.add(conv3x3(channels, channels, 0f));
            s.add(new GroupNorm(groups, channels));
            s.add(new ReLU());
        }
        return s;
    }

    /** A 3x3 stride-1 conv with bias, weights normal(std 0.01), bias the constant given, as the head's convs start. */
    static Conv2d conv3x3(int in, int out, float bias) {
        Conv2d c = new Conv2d(in, out, 3, 1, 1, 1, 1, true);
        Init.normal(c.weight.value(), 0.01);
        if (!c.bias.value().isMeta()) c.bias.value().fill(bias);
        return c;
    }

    /**
     * One level's [N, A * K, H, W] map as [N, H * W * A, K] rows, torchvision's
     * view(N, -1, K, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, K): row (y * W + x) * A + a.
     */
    static Variable rows(Variable map, int k) {
        int[] s = map.shape();
        if (s.length != 4 || s[1] % k != 0) {
            throw new IllegalArgumentException("FCOS head: expected [N, A * " + k + ", H, W], got " + map.value().shapeString());
        }
        int n = s[0], a = s[1] / k, h = s[2], w = s[3];
        Variable v = ReshapeOp.apply(map, n, a, k, h, w);
        v = PermuteOp.apply(v, 0, 3, 4, 1, 2);
        return ReshapeOp.apply(v, n, h * w * a, k);
    }

    /** The levels' rows concatenated along the anchor axis, as torch.cat(..., dim=1). */
    static Variable concat(List<Variable> levels) {
        return levels.size() == 1 ? levels.get(0) : ConcatOp.apply(1, levels.toArray(new Variable[0]));
    }

    static void checkFeatures(List<Variable> features, int channels) {
        if (features.isEmpty()) throw new IllegalArgumentException("FCOS head: no feature maps");
        for (int i = 0; i < features.size(); i++) {
            int[] s = features.get(i).shape();
            if (s.length != 4 || s[1] != channels) {
                throw new IllegalArgumentException("FCOS head: level " + i + " must be [N, " + channels + ", H, W], got "
                        + features.get(i).value().shapeString());
            }
        }
    }
}
