package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.resnet4j.autograd.ops.AddOp;
import org.resnet4j.autograd.ops.BatchNormOp;
import org.resnet4j.autograd.ops.ConcatOp;
import org.resnet4j.autograd.ops.Conv2dOp;
import org.resnet4j.autograd.ops.DropoutOp;
import org.resnet4j.autograd.ops.LinearOp;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.PoolOps;
import org.resnet4j.autograd.ops.ReluOp;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.autograd.ops.ShortcutPadOp;
import org.resnet4j.autograd.ops.UpsampleOp;
import org.resnet4j.models.BasicBlock;
import org.resnet4j.models.Bottleneck;
import org.resnet4j.models.Models;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Sequential;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.GradCheck;

/**
 * Finite-difference gradient checks of every differentiable op and of whole residual blocks,
 * through {@link GradCheck} (objective L = sum r_i y_i with fixed random r, double accumulation).
 *
 * <p>Tolerance: 1e-2 relative, |num - ana| / max(|num|, |ana|, floor). The forward runs in
 * float32, so L carries rounding noise, and the central difference divides it by 2h: with
 * h = 1e-2 and O(1) gradients that is 1e-5..1e-3 relative, so float32 allows ~1e-3 and 1e-2
 * leaves margin; a real backward bug (a wrong index, a missing term, a wrong scale) shows as an
 * O(1) relative error, and {@link #checkerPassesACorrectOpAndCatchesWrongOnes} shows a 3% error
 * is caught. The floor (0.1 x the tensor's RMS gradient for single ops) keeps coordinates whose
 * gradient is far below the tensor's typical size, where that noise dominates, from failing
 * spuriously.
 *
 * <p>Single ops use h = 1e-2, the top of the 1e-3..1e-2 range: the ops linear in the perturbed
 * argument (conv, linear, add, cat, reshape, dropout, upsample, pooling, pad, eval BN, mse) have
 * no truncation error, so the largest step gives the least rounding noise; the smooth nonlinear
 * ones (train-mode BN, cross-entropy) see O(1)-scaled inputs, where h^2 f''' is ~1e-4 relative.
 * Kinks are avoided by construction: ReLU inputs are at least 0.05 from zero and max-pool inputs
 * are distinct values 0.05 apart, so a +-0.01 step never crosses a kink or changes an argmax.
 *
 * <p>Whole blocks (train-mode BN, three ReLU layers) are harder on both counts. Every perturbation
 * moves the batch statistics, so every downstream value is re-rounded: the measured noise of L is
 * ~1e-5 (a scan of L(x + t e_i) - L(x) - t g_i is flat noise at that level), and each step pushes
 * some of hundreds of pre-activations across zero. So blocks use GradCheck's per-tensor step
 * h = 1e-2 / rms(gradient) (L moves by ~1e-2 whatever the tensor; clamped to [1e-4, 1e-2]),
 * which puts that noise at <= 5e-4 of a typical coordinate, and a floor of 0.2 x RMS.
 * Coordinates whose step crosses a ReLU kink are retried at h/4 or skipped (counted; the checker
 * requires half of each tensor and 80% overall to be checked). Over 50 random block
 * configurations the worst error was 3.7e-3 and the worst overall skip rate 10%.
 */
class GradCheckTest {

    // ------------------------------------------------------------------ inputs
    private static Variable leaf(long seed, float scale, int... shape) {
        Tensor t = Tensor.randn(seed, shape);
        for (int i = 0; i < t.size(); i++) t.data()[i] *= scale;
        return Variable.leaf(t);
    }

    /** Values with |v| >= margin: a +-h perturbation with h < margin never crosses zero. */
    private static Variable awayFromZero(long seed, float margin, int... shape) {
        Tensor t = Tensor.zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < t.size(); i++) t.data()[i] = (r.nextBoolean() ? 1 : -1) * (margin + (float) r.nextDouble());
        return Variable.leaf(t);
    }

    /** A random permutation of distinct values spaced {@code spacing} apart: no two are within 2h for h < spacing / 2. */
    private static Variable distinct(long seed, float spacing, int... shape) {
        Tensor t = Tensor.zeros(shape);
        int n = t.size();
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        for (int i = 0; i < n; i++) t.data()[i] = (perm[i] - n / 2f) * spacing;
        return Variable.leaf(t);
    }

    // ------------------------------------------------------------------ conv
    @ParameterizedTest(name = "n={0} cin={1} hw={2} cout={3} k={4} s={5} p={6} d={7} g={8} bias={9}")
    @CsvSource({
        // the brief's case: bias, stride 2, padding, dilation 2, groups 2
        "2, 4, 7, 6, 3, 2, 2, 2, 2, true",
        // per-image parallel path (n=3 > threads), 3x3 same padding
        "3, 3, 5, 4, 3, 1, 1, 1, 1, false",
        // pointwise (im2col skipped), one image: parallel GEMM path
        "1, 6, 5, 4, 1, 1, 0, 1, 1, true",
        // depthwise 3x3, stride 2
        "2, 4, 6, 4, 3, 2, 1, 1, 4, true",
        // 7x7 stem-like, stride 2 pad 3
        "1, 2, 9, 3, 7, 2, 3, 1, 1, false"})
    void conv2d(int n, int cin, int hw, int cout, int k, int stride, int pad, int dil, int groups, boolean bias) {
        Variable x = leaf(1, 1f, n, cin, hw, hw);
        Variable w = leaf(2, 0.5f, cout, cin / groups, k, k);
        Variable b = bias ? leaf(3, 0.5f, cout) : null;
        Conv2dOp.Params p = Conv2dOp.Params.of(stride, pad, dil, groups);
        GradCheck gc = GradCheck.of("conv2d", () -> Conv2dOp.apply(x, w, b, p)).wrt("x", x).wrt("w", w);
        if (bias) gc.wrt("b", b);
        gc.h(1e-2).run();
    }

    // ------------------------------------------------------------------ batch norm
    private static Variable channelShifted(long seed, int... shape) {
        // per-channel scale and offset, so each channel's statistics differ
        Variable x = leaf(seed, 1f, shape);
        float[] d = x.value().data();
        int c = shape[1], inner = x.value().size() / (shape[0] * c);
        for (int i = 0; i < d.length; i++) {
            int ch = (i / inner) % c;
            d[i] = d[i] * (0.5f + 0.4f * ch) + (ch - 1.5f) * 0.7f;
        }
        return x;
    }

    @Test
    void batchNormTrainNchw() {
        checkBatchNorm(true, 3, 4, 3, 3);
    }

    @Test
    void batchNormTrainNc() {
        checkBatchNorm(true, 6, 5);
    }

    @Test
    void batchNormEvalNchw() {
        checkBatchNorm(false, 3, 4, 3, 3);
    }

    @Test
    void batchNormEvalNc() {
        checkBatchNorm(false, 6, 5);
    }

    private static void checkBatchNorm(boolean training, int... shape) {
        int c = shape[1];
        Variable x = channelShifted(10, shape);
        Variable gamma = Variable.leaf(Tensor.uniform(11, 0.5f, 1.5f, c));
        Variable beta = leaf(12, 0.3f, c);
        Tensor rm = Tensor.uniform(13, -0.5f, 0.5f, c), rv = Tensor.uniform(14, 0.5f, 1.5f, c);
        float[] rm0 = rm.data().clone(), rv0 = rv.data().clone();
        GradCheck.of("batch_norm training=" + training,
                        () -> BatchNormOp.apply(x, gamma, beta, rm, rv, training, 0.1f, 1e-5f))
                .wrt("x", x).wrt("gamma", gamma).wrt("beta", beta).h(1e-2).run();
        if (!training) {
            // eval must not touch the running statistics (the check above relies on it too)
            assertEquals(java.util.Arrays.toString(rm0), java.util.Arrays.toString(rm.data()));
            assertEquals(java.util.Arrays.toString(rv0), java.util.Arrays.toString(rv.data()));
        }
    }

    // ------------------------------------------------------------------ relu and pooling
    @Test
    void relu() {
        Variable x = awayFromZero(20, 0.05f, 2, 3, 4, 5);
        GradCheck.Report r = GradCheck.of("relu", () -> ReluOp.apply(x)).wrt("x", x).h(1e-2).run();
        assertEquals(0, r.get("x").skipped(), "inputs are at least 0.05 from zero, h = 0.01 never crosses");
    }

    @ParameterizedTest(name = "hw={0} k={1} s={2} p={3} d={4} ceil={5}")
    @CsvSource({"7, 3, 2, 1, 1, false", "5, 2, 2, 0, 1, true", "7, 3, 1, 0, 2, false", "6, 3, 2, 1, 1, true"})
    void maxPool(int hw, int k, int s, int p, int d, boolean ceil) {
        // distinct values 0.05 apart and h = 0.01: no window's argmax can change under +-h
        Variable x = distinct(21, 0.05f, 2, 3, hw, hw);
        GradCheck.of("max_pool2d", () -> PoolOps.maxPool(x, k, s, p, d, ceil)).wrt("x", x).h(1e-2).run();
    }

    @ParameterizedTest(name = "hw={0} k={1} s={2} p={3}")
    @CsvSource({"7, 3, 2, 1", "5, 2, 2, 0", "6, 3, 1, 1", "7, 2, 3, 1"})
    void avgPool(int hw, int k, int s, int p) {
        Variable x = leaf(22, 1f, 2, 3, hw, hw);
        GradCheck.of("avg_pool2d", () -> PoolOps.avgPool(x, k, s, p)).wrt("x", x).h(1e-2).run();
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
    @CsvSource({"7, 5, 3, 2", "6, 6, 4, 4", "5, 7, 1, 1", "3, 2, 5, 4"})
    void adaptiveAvgPool(int h, int w, int oh, int ow) {
        Variable x = leaf(23, 1f, 2, 3, h, w);
        GradCheck.of("adaptive_avg_pool2d", () -> PoolOps.adaptiveAvgPool(x, oh, ow)).wrt("x", x).h(1e-2).run();
    }

    // ------------------------------------------------------------------ linear, add, cat, reshape
    @Test
    void linearWithBias() {
        Variable x = leaf(30, 1f, 5, 7), w = leaf(31, 0.5f, 3, 7), b = leaf(32, 0.5f, 3);
        GradCheck.of("linear", () -> LinearOp.apply(x, w, b)).wrt("x", x).wrt("w", w).wrt("b", b).h(1e-2).run();
    }

    @Test
    void linearWithoutBiasWideOutput() {
        // 33 outputs: more than two 16-wide GEMM panels, with a ragged last panel
        Variable x = leaf(33, 1f, 4, 19), w = leaf(34, 0.5f, 33, 19);
        GradCheck.of("linear no bias", () -> LinearOp.apply(x, w, null)).wrt("x", x).wrt("w", w).h(1e-2).run();
    }

    @Test
    void add() {
        Variable a = leaf(40, 1f, 2, 3, 4, 4), b = leaf(41, 1f, 2, 3, 4, 4);
        GradCheck.of("add", () -> AddOp.apply(a, b)).wrt("a", a).wrt("b", b).h(1e-2).run();
    }

    @Test
    void addToItselfGivesGradientTwo() {
        Variable a = leaf(42, 1f, 2, 3, 4, 4);
        GradCheck.of("a + a", () -> AddOp.apply(a, a)).wrt("a", a).h(1e-2).run();
        // and exactly: d(sum r * 2a)/da = 2r
        Tensor r = Tensor.randn(43, 2, 3, 4, 4);
        a.zeroGrad();
        AddOp.apply(a, a).backward(r);
        for (int i = 0; i < r.size(); i++) assertEquals(2 * r.data()[i], a.grad().data()[i], 0f, "index " + i);
    }

    @Test
    void concatDim1() {
        Variable a = leaf(50, 1f, 2, 3, 4, 4), b = leaf(51, 1f, 2, 5, 4, 4), c = leaf(52, 1f, 2, 1, 4, 4);
        GradCheck.of("cat dim 1", () -> ConcatOp.apply(1, a, b, c)).wrt("a", a).wrt("b", b).wrt("c", c).h(1e-2).run();
    }

    @Test
    void flatten() {
        Variable x = leaf(53, 1f, 2, 3, 4, 4);
        Variable y = ReshapeOp.flatten(x);
        assertTrue(y.value().hasShape(2, 48));
        GradCheck.of("flatten", () -> ReshapeOp.flatten(x)).wrt("x", x).h(1e-2).run();
    }

    // ------------------------------------------------------------------ dropout, upsample, pad
    @Test
    void dropoutWithFixedMask() {
        Variable x = awayFromZero(60, 0.05f, 4, 50);
        float p = 0.3f;
        // a fresh generator from the same seed on every evaluation: the mask is the same each time
        Variable y = DropoutOp.apply(x, p, true, new SplittableRandom(7));
        int zeros = 0;
        for (int i = 0; i < y.value().size(); i++) {
            float v = y.value().data()[i];
            if (v == 0f) zeros++;
            else assertEquals(x.value().data()[i] / (1 - p), v, 1e-6f * Math.abs(v));
        }
        assertTrue(zeros > 30 && zeros < 90, "about 30% of 200 dropped, got " + zeros);
        GradCheck.of("dropout", () -> DropoutOp.apply(x, p, true, new SplittableRandom(7))).wrt("x", x).h(1e-2).run();
    }

    @ParameterizedTest(name = "{0} {1}x{2} -> {3}x{4}")
    @CsvSource({"NEAREST, 4, 5, 7, 9", "NEAREST, 3, 3, 6, 6", "BILINEAR, 4, 5, 7, 9", "BILINEAR, 3, 3, 6, 6",
                "BILINEAR, 7, 9, 4, 5"})
    void upsample(UpsampleOp.Mode mode, int h, int w, int oh, int ow) {
        Variable x = leaf(61, 1f, 2, 3, h, w);
        GradCheck.of("interpolate " + mode, () -> UpsampleOp.apply(x, oh, ow, mode)).wrt("x", x).h(1e-2).run();
    }

    @ParameterizedTest(name = "stride={0} pad={1}+{2}")
    @CsvSource({"2, 2, 2", "2, 1, 3", "1, 0, 4", "2, 0, 0"})
    void shortcutPad(int stride, int before, int after) {
        Variable x = leaf(62, 1f, 2, 4, 5, 5);
        GradCheck.of("shortcut pad", () -> ShortcutPadOp.apply(x, stride, before, after)).wrt("x", x).h(1e-2).run();
    }

    // ------------------------------------------------------------------ losses
    @ParameterizedTest(name = "label smoothing {0}")
    @CsvSource({"0.0", "0.1"})
    void crossEntropy(float smoothing) {
        Variable logits = leaf(70, 2f, 6, 5);
        int[] targets = {0, 4, 2, 2, 1, 3};
        GradCheck.of("cross_entropy ls=" + smoothing, () -> LossOps.crossEntropy(logits, targets, smoothing))
                .wrt("logits", logits).h(1e-2).run();
    }

    /** MixUp/CutMix loss: lambda * CE(a) + (1 - lambda) * CE(b), with and without smoothing. */
    @ParameterizedTest(name = "lambda {0} smoothing {1}")
    @CsvSource({"0.7, 0.0", "0.3, 0.1"})
    void crossEntropyMixed(float lambda, float smoothing) {
        Variable logits = leaf(73, 2f, 6, 5);
        int[] a = {0, 4, 2, 2, 1, 3}, b = {1, 1, 0, 4, 2, 3};
        GradCheck.of("cross_entropy mixed", () -> LossOps.crossEntropyMixed(logits, a, b, lambda, smoothing))
                .wrt("logits", logits).h(1e-2).run();
        // linear in the targets: equals the weighted sum of the two plain losses
        float mixed = LossOps.crossEntropyMixed(logits, a, b, lambda, smoothing).value().data()[0];
        float sum = lambda * LossOps.crossEntropy(logits, a, smoothing).value().data()[0]
                + (1 - lambda) * LossOps.crossEntropy(logits, b, smoothing).value().data()[0];
        org.junit.jupiter.api.Assertions.assertEquals(sum, mixed, 1e-5f);
    }

    @Test
    void mse() {
        Variable x = leaf(71, 1f, 3, 8), y = leaf(72, 1f, 3, 8);
        GradCheck.of("mse", () -> LossOps.mse(x, y)).wrt("x", x).wrt("y", y).h(1e-2).run();
    }

    // ------------------------------------------------------------------ whole blocks, train mode
    /** Random BN affine parameters, so the checks do not sit at gamma = 1, beta = 0. */
    private static void randomizeBatchNorms(Module m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (Module sub : m.namedModules().values()) {
            if (sub instanceof BatchNorm2d bn) {
                for (int i = 0; i < bn.channels; i++) {
                    bn.weight.value().data()[i] = 0.6f + 0.8f * (float) r.nextDouble();
                    bn.bias.value().data()[i] = 0.4f * ((float) r.nextDouble() - 0.5f);
                }
            }
        }
    }

    /** Train mode, w.r.t. the input and every parameter; step and floor as explained in the class comment. */
    private static GradCheck.Report checkBlock(String label, Module block, Variable x) {
        block.train();
        randomizeBatchNorms(block, 80);
        return GradCheck.of(label, () -> block.call(x)).wrt("input", x).wrtParameters(block)
                .targetChange(1e-2).floorFraction(0.2).samples(40).run();
    }

    @Test
    void basicBlockIdentity() {
        Init.manualSeed(81);
        checkBlock("BasicBlock(8, 8)", new BasicBlock(8, 8, 1, null, 1, 64, 1), leaf(82, 1f, 2, 8, 5, 5));
    }

    @Test
    void basicBlockStride2Downsample() {
        Init.manualSeed(83);
        Module ds = new Sequential(new Conv2d(4, 8, 1, 2, 0), new BatchNorm2d(8));
        checkBlock("BasicBlock(4, 8, stride 2)", new BasicBlock(4, 8, 2, ds, 1, 64, 1), leaf(84, 1f, 2, 4, 6, 6));
    }

    @Test
    void bottleneckStride2Downsample() {
        Init.manualSeed(85);
        Module ds = new Sequential(new Conv2d(16, 16, 1, 2, 0), new BatchNorm2d(16));
        checkBlock("Bottleneck(16, 4, stride 2)", new Bottleneck(16, 4, 2, ds, 1, 64, 1), leaf(86, 1f, 2, 16, 5, 5));
    }

    @Test
    void bottleneckGroupedIdentity() {
        Init.manualSeed(87);
        // ResNeXt-style: groups 2, base width 128 -> inner width 4 * 128 / 64 * 2 = 16, grouped 3x3
        checkBlock("Bottleneck(16, 4, groups 2)", new Bottleneck(16, 4, 1, null, 2, 128, 1), leaf(88, 1f, 2, 16, 3, 3));
    }

    @Test
    void cifarOptionABlock() {
        Init.manualSeed(89);
        // resnet20's layer2.0: 16 -> 32 channels, stride 2, parameter-free zero-pad shortcut (option A)
        Module block = Models.create("resnet20").namedModules().get("layer2.0");
        GradCheck.Report r = checkBlock("resnet20 layer2.0 (option A)", block, leaf(90, 1f, 2, 16, 6, 6));
        assertEquals(1 + 6, r.tensors().size(), "input + conv1, bn1 (2), conv2, bn2 (2); the shortcut has no parameters");
    }

    // ------------------------------------------------------------------ the checker itself
    /** y = x^2 elementwise, with a backward that can be made wrong: scaled, or delivered to the next element. */
    private static Variable square(Variable x, float scale, boolean shifted) {
        float[] xd = x.value().data();
        Tensor y = Tensor.zeros(x.shape());
        for (int i = 0; i < xd.length; i++) y.data()[i] = xd[i] * xd[i];
        return Node.record(y, () -> new Node(x) {
            @Override
            protected void backward(Tensor dy) {
                Tensor dx = Tensor.zeros(x.shape());
                int n = xd.length;
                for (int i = 0; i < n; i++) dx.data()[shifted ? (i + 1) % n : i] = scale * 2 * xd[i] * dy.data()[i];
                inputs()[0].addGradOwned(dx);
            }
        }, x);
    }

    @Test
    void checkerPassesACorrectOpAndCatchesWrongOnes() {
        Variable x = awayFromZero(95, 0.1f, 4, 6);
        GradCheck.of("square", () -> square(x, 1f, false)).wrt("x", x).run();
        assertThrows(AssertionError.class, () -> GradCheck.of("3% too large", () -> square(x, 1.03f, false)).wrt("x", x).run());
        assertThrows(AssertionError.class, () -> GradCheck.of("wrong element", () -> square(x, 1f, true)).wrt("x", x).run());
        // a backward that drops the gradient, and a checked variable the output does not depend on
        assertThrows(AssertionError.class, () -> GradCheck.of("dropped", () -> square(x, 0f, false)).wrt("x", x).run());
        Variable unused = leaf(96, 1f, 4, 6);
        assertThrows(AssertionError.class, () -> GradCheck.of("unused", () -> square(x, 1f, false)).wrt("x", x).wrt("unused", unused).run());
    }

    @Test
    void checkerSkipsAndCountsCoordinatesAtAKink() {
        Variable x = awayFromZero(97, 0.05f, 2, 10);
        float[] d = x.value().data();
        d[3] = 0.001f; // +-h (and +-h/4) crosses zero: skipped
        d[7] = -0.002f;
        d[12] = 0.004f; // crosses at h, not at h/4: checked with the smaller step
        GradCheck.Report r = GradCheck.of("relu at zero", () -> ReluOp.apply(x)).wrt("x", x).h(1e-2).run();
        assertEquals(2, r.get("x").skipped());
        assertEquals(1, r.get("x").retried());
        assertEquals(18, r.get("x").checked());
    }
}
