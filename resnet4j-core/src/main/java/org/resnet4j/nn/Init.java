package org.resnet4j.nn;

import java.util.SplittableRandom;
import org.resnet4j.tensor.Tensor;

/**
 * Weight initializers (torch.nn.init) drawing from one seedable generator, like torch.manual_seed.
 * Fan-in and fan-out follow PyTorch: for a weight [out, in, kh, kw], fan_in = in*kh*kw and
 * fan_out = out*kh*kw.
 */
public final class Init {
    private static SplittableRandom rng = new SplittableRandom(0);

    private Init() {}

    /** Reseeds the generator all layers draw their initial weights from. */
    public static synchronized void manualSeed(long seed) {
        rng = new SplittableRandom(seed);
    }

    static synchronized SplittableRandom split() {
        return rng.split();
    }

    public static int fanIn(int[] shape) {
        int f = shape.length > 1 ? shape[1] : 1;
        for (int i = 2; i < shape.length; i++) f *= shape[i];
        return f;
    }

    public static int fanOut(int[] shape) {
        int f = shape[0];
        for (int i = 2; i < shape.length; i++) f *= shape[i];
        return f;
    }

    /** kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2/fan_out), torchvision's ResNet init (He et al. 2015). */
    public static void kaimingNormalFanOut(Tensor w) {
        normal(w, Math.sqrt(2.0 / fanOut(w.shape())));
    }

    /** kaiming_normal_(mode="fan_in", nonlinearity="relu"): N(0, 2/fan_in). */
    public static void kaimingNormalFanIn(Tensor w) {
        normal(w, Math.sqrt(2.0 / fanIn(w.shape())));
    }

    /** PyTorch's default for Conv2d and Linear (kaiming_uniform_ with a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
    public static void defaultUniform(Tensor w, int fanIn) {
        uniform(w, 1.0 / Math.sqrt(fanIn));
    }

    public static void normal(Tensor w, double std) {
        if (w.isMeta()) return;
        SplittableRandom r = split();
        float[] d = w.data();
        // Box-Muller gives two independent normals per pair of uniforms.
        for (int i = 0; i < d.length; i += 2) {
            double rad = Math.sqrt(-2.0 * Math.log1p(-r.nextDouble())), ang = 2 * Math.PI * r.nextDouble();
            d[i] = (float) (std * rad * Math.cos(ang));
            if (i + 1 < d.length) d[i + 1] = (float) (std * rad * Math.sin(ang));
        }
    }

    /**
     * nn.init.kaiming_uniform_(w, a) (fan_in, leaky_relu): uniform within gain * sqrt(3 / fan_in),
     * gain = sqrt(2 / (1 + a^2)); a = 1 (gain 1) is what torchvision's feature pyramid uses.
     */
    public static void kaimingUniform(Tensor w, double a) {
        uniform(w, Math.sqrt(2.0 / (1 + a * a)) * Math.sqrt(3.0 / fanIn(w.shape())));
    }

    public static void uniform(Tensor w, double bound) {
        if (w.isMeta()) return;
        SplittableRandom r = split();
        float[] d = w.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
    }
}
