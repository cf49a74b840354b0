package org.resnet4j.data;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision.transforms.v2.CutMix(alpha) (Yun et al. 2019): draw lambda ~ Beta(alpha, alpha),
 * a box centred on a uniformly random pixel (x first, then y) with half-sides
 * {@code int(0.5 * sqrt(1 - lambda) * W)} and {@code int(... * H)}, clipped to the image; paste that
 * box from the previous image in the batch (the batch rolled by one) into every image. The
 * batch's lambda is torchvision's {@code lam_adjusted = 1 - box area / image area}, the fraction of
 * each image that is still its own; {@code labelsB[i] = labels[i - 1]}.
 */
public final class CutMix implements BatchTransform {
    private final double alpha;

    /** torchvision's default alpha is 1. */
    public CutMix(double alpha) {
        if (!(alpha > 0 && Double.isFinite(alpha))) throw new IllegalArgumentException("alpha must be > 0, got " + alpha);
        this.alpha = alpha;
    }

    @Override
    public Batch apply(Batch batch, SplittableRandom rng) {
        if (batch.mixed()) throw new IllegalArgumentException("the batch is already mixed");
        int h = batch.images().dim(2);
        int w = batch.images().dim(3);
        double lam = Seeds.beta(rng, alpha, alpha);
        int rx = rng.nextInt(w);
        int ry = rng.nextInt(h);
        double r = 0.5 * Math.sqrt(1.0 - lam);
        int rw = (int) (r * w);
        int rh = (int) (r * h);
        int x1 = Math.max(rx - rw, 0);
        int y1 = Math.max(ry - rh, 0);
        int x2 = Math.min(rx + rw, w);
        int y2 = Math.min(ry + rh, h);
        return paste(batch, x1, y1, x2, y2);
    }

    /** Pastes the box [x1, x2) x [y1, y2) of the previous image into each image (the deterministic half). */
    public static Batch paste(Batch batch, int x1, int y1, int x2, int y2) {
        if (batch.mixed()) throw new IllegalArgumentException("the batch is already mixed");
        Tensor x = batch.images();
        int n = x.dim(0);
        int c = x.dim(1);
        int h = x.dim(2);
        int w = x.dim(3);
        if (x1 < 0 || y1 < 0 || x2 > w || y2 > h || x1 > x2 || y1 > y2) {
            throw new IllegalArgumentException("box (" + x1 + ", " + y1 + ", " + x2 + ", " + y2 + ") is not inside " + w + "x" + h);
        }
        float[] src = x.data();
        float[] dst = src.clone();
        int per = c * h * w;
        for (int i = 0; i < n; i++) {
            int prev = (i + n - 1) % n;
            for (int k = 0; k < c; k++) {
                for (int y = y1; y < y2; y++) {
                    int row = (k * h + y) * w;
                    System.arraycopy(src, prev * per + row + x1, dst, i * per + row + x1, x2 - x1);
                }
            }
        }
        float lambda = (float) (1.0 - (double) (x2 - x1) * (y2 - y1) / ((double) w * h));
        return new Batch(Tensor.of(dst, x.shape()), batch.labels(), rolled(batch.labels()), lambda);
    }

    /** {@code labels.roll(1)}: entry i is labels[i - 1], the first is the last. */
    static int[] rolled(int[] labels) {
        int n = labels.length;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = labels[(i + n - 1) % n];
        return out;
    }

    @Override
    public String toString() {
        return "CutMix(alpha=" + alpha + ")";
    }
}
