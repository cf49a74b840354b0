package org.resnet4j.nn;

import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.GroupNormOp;

/**
 * torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True) (Wu and He 2018): per
 * sample, each group of channels normalized over its channels and positions, then a per-channel
 * affine map. state_dict {@code weight} (ones) and {@code bias} (zeros), as PyTorch initializes
 * them; no buffers, and the same computation in training and eval.
 */
public final class GroupNorm extends Module {
    public static final float DEFAULT_EPS = 1e-5f;
    public final int groups, channels;
    public final Parameter weight, bias;
    private final float eps;

    public GroupNorm(int groups, int channels) {
        this(groups, channels, DEFAULT_EPS, true);
    }

    public GroupNorm(int groups, int channels, float eps, boolean affine) {
        if (groups < 1 || channels < 1 || channels % groups != 0) {
            throw new IllegalArgumentException("GroupNorm: num_channels (" + channels + ") must be divisible by num_groups ("
                    + groups + ")");
        }
        this.groups = groups;
        this.channels = channels;
        this.eps = eps;
        this.weight = affine ? parameter("weight", allocate(1f, channels)) : null;
        this.bias = affine ? parameter("bias", allocate(channels)) : null;
    }

    public float eps() {
        return eps;
    }

    @Override
    public Variable forward(Variable x) {
        return GroupNormOp.apply(x, groups, weight, bias, eps);
    }

    @Override
    public String describe() {
        return "GroupNorm(" + groups + ", " + channels + ", eps=" + eps + (weight == null ? ", affine=False" : "") + ")";
    }
}
