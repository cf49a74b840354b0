package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.v2.MixUp(alpha) (Zhang et al. 2018): draw lambda ~ Beta(alpha, alpha)
 * once per batch and mix every image with the previous one in the batch (the batch rolled by one,
 * as torchvision pairs images): {@code x'[i] = lambda * x[i] + (1 - lambda) * x[i - 1]}, with
 * {@code labelsB[i] = labels[i - 1]} (indices mod N).
 */
public final class MixUp implements BatchTransform {
    private final double alpha;

    /** torchvision's default alpha is 1 (lambda uniform on [0, 1]). */
    public MixUp(double alpha) {
        if (!(alpha > 0 && Double.isFinite(alpha))) throw new IllegalArgumentException("alpha must be > 0, got " + alpha);
        this.alpha = alpha;
    }

    @Override
    public Batch apply(Batch batch, SplittableRandom rng) {
        return mix(batch, (float) Seeds.beta(rng, alpha, alpha));
    }

    /** Mixes with a given lambda (the deterministic half of {@link #apply}). */
    public static Batch mix(Batch batch, float lambda) {
        if (batch.mixed()) throw new IllegalArgumentException("the batch is already mixed");
        if (!(lambda >= 0 && lambda <= 1)) throw new IllegalArgumentException("lambda must be in [0, 1], got " + lambda);
        Tensor x = batch.images();
        int n = x.dim(0);
        int per = x.size() / Math.max(1, n);
        float[] src = x.data();
        float[] dst = new float[src.length];
        float other = 1f - lambda;
        for (int i = 0; i < n; i++) {
            int prev = (i + n - 1) % n;
            int o = i * per;
            int po = prev * per;
            for (int k = 0; k < per; k++) dst[o + k] = other * src[po + k] + lambda * src[o + k];
        }
        return new Batch(Tensor.of(dst, x.shape()), batch.labels(), CutMix.rolled(batch.labels()), lambda);
    }

    @Override
    public String toString() {
        return "MixUp(alpha=" + alpha + ")";
    }
}
