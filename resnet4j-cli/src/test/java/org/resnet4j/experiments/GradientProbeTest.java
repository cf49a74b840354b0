package org.resnet4j.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.ReshapeOp;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

class GradientProbeTest {
    @TempDir
    Path dir;

    /** conv (1 -> 1 channel, 2x2 kernel, no bias) on a 3x3 image, flattened to 4 features, then Linear(4, 2). */
    static final class Tiny extends Module {
        final Conv2d conv = register("conv", new Conv2d(1, 1, 2, 1, 0));
        final Linear fc = register("fc", new Linear(4, 2));

        @Override
        public Variable forward(Variable x) {
            return fc.call(ReshapeOp.flatten(conv.call(x)));
        }
    }

    static final float[] K = {0.5f, -0.3f, 0.2f, 0.8f};
    static final float[] W = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.25f, 0.15f, -0.35f};
    static final float[] B = {0.05f, -0.1f};
    static final float[] X = {1, 2, 0, -1, 0.5f, 3, 2, -2, 1, /* second image */ 0, 1, -1, 2, 1, 0.5f, -0.5f, 1.5f, 2};
    static final int[] Y = {0, 1};

    private static Tiny tiny() {
        Tiny t = new Tiny();
        System.arraycopy(K, 0, t.conv.weight.value().data(), 0, 4);
        System.arraycopy(W, 0, t.fc.weight.value().data(), 0, 8);
        System.arraycopy(B, 0, t.fc.bias.value().data(), 0, 2);
        return t;
    }

    /** The gradients by hand, in double: mean cross-entropy over the batch of two. */
    private static double[][] handGradients() {
        int n = 2;
        double[] dK = new double[4], dW = new double[8];
        for (int s = 0; s < n; s++) {
            double[] h = new double[4];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) h[i * 2 + j] += K[a * 2 + b] * X[s * 9 + (i + a) * 3 + j + b];
            double[] z = new double[2];
            for (int c = 0; c < 2; c++) {
                z[c] = B[c];
                for (int k = 0; k < 4; k++) z[c] += W[c * 4 + k] * h[k];
            }
            double m = Math.max(z[0], z[1]), e0 = Math.exp(z[0] - m), e1 = Math.exp(z[1] - m);
            double[] dz = {e0 / (e0 + e1) - (Y[s] == 0 ? 1 : 0), e1 / (e0 + e1) - (Y[s] == 1 ? 1 : 0)};
            for (int c = 0; c < 2; c++) dz[c] /= n;
            double[] dh = new double[4];
            for (int c = 0; c < 2; c++)
                for (int k = 0; k < 4; k++) {
                    dW[c * 4 + k] += dz[c] * h[k];
                    dh[k] += W[c * 4 + k] * dz[c];
                }
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) dK[a * 2 + b] += dh[i * 2 + j] * X[s * 9 + (i + a) * 3 + j + b];
        }
        return new double[][] {dK, dW};
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    private static void assertClose(double expected, double actual, String what) {
        assertEquals(expected, actual, 1e-5 * Math.max(1, Math.abs(expected)), what);
    }

    @Test
    void gradientNormsMatchHandComputedGradients() {
        Tiny t = tiny();
        t.eval();
        Tensor x = Tensor.of(X.clone(), 2, 1, 3, 3);
        GradientProbe.Result r = GradientProbe.probe(t, x, Y, 0.1);

        List<GradientProbe.LayerStats> layers = r.layers();
        assertEquals(2, layers.size());
        GradientProbe.LayerStats conv = layers.get(0), fc = layers.get(1);
        assertEquals("conv", conv.name());
        assertEquals(0, conv.depth());
        assertEquals("Conv2d", conv.type());
        assertEquals("fc", fc.name());
        assertEquals(1, fc.depth());
        assertEquals(8, fc.numel());

        double[][] hand = handGradients();
        assertClose(norm(hand[0]), conv.gradNorm(), "conv ||grad||");
        assertClose(norm(hand[1]), fc.gradNorm(), "fc ||grad||");
        assertClose(norm(K), conv.weightNorm(), "conv ||w||");
        assertClose(norm(W), fc.weightNorm(), "fc ||w||");
        assertClose(norm(hand[0]) / 2, conv.gradRms(), "conv grad RMS = ||g|| / sqrt(4)");
        assertClose(0.1 * norm(hand[0]) / norm(K), conv.updateRatio(), "conv update/weight");
        assertClose(0.1 * norm(hand[1]) / norm(W), fc.updateRatio(), "fc update/weight");

        // nothing left behind: no gradients, mode restored
        for (Parameter p : t.parameters()) assertNull(p.grad());
        assertFalse(t.isTraining());

        // the probe's norm is the norm of the .grad that a plain backward leaves in the parameters
        t.train();
        LossOps.crossEntropy(t.call(Variable.constant(x)), Y, 0f).backward();
        assertClose(norm(t.conv.weight.grad().data()), conv.gradNorm(), "conv vs .grad");
        assertClose(norm(t.fc.weight.grad().data()), fc.gradNorm(), "fc vs .grad");
        assertClose(r.loss(), LossOps.crossEntropy(t.call(Variable.constant(x)), Y, 0f).value().data()[0], "loss");
    }

    @Test
    void activationStatisticsOfTheConvOutput() {
        GradientProbe.Result r = GradientProbe.probe(tiny(), Tensor.of(X.clone(), 2, 1, 3, 3), Y, 0.1);
        GradientProbe.ActivationStats conv = r.activations().stream().filter(a -> a.name().equals("conv")).findFirst().orElseThrow();
        double[] h = new double[8];
        for (int s = 0; s < 2; s++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) h[s * 4 + i * 2 + j] += K[a * 2 + b] * X[s * 9 + (i + a) * 3 + j + b];
        double mean = 0, zeros = 0;
        for (double v : h) {
            mean += v / 8;
            if (v <= 0) zeros++;
        }
        double var = 0;
        for (double v : h) var += (v - mean) * (v - mean) / 8;
        assertClose(mean, conv.mean(), "mean");
        assertClose(Math.sqrt(var), conv.std(), "std");
        assertEquals(zeros / 8, conv.zeroFraction(), 1e-12);
        assertEquals("conv", conv.type());
        assertTrue(r.activations().stream().anyMatch(a -> a.name().equals("fc") && a.type().equals("linear")));
    }

    @Test
    void updateRatioArithmetic() {
        assertEquals(0.05, GradientProbe.updateRatio(0.1, 2.0, 4.0), 1e-15);
        assertEquals(1e-3, GradientProbe.updateRatio(0.01, 0.5, 5.0), 1e-15);
        assertEquals(Double.POSITIVE_INFINITY, GradientProbe.updateRatio(0.1, 1.0, 0.0));
        assertEquals(0.0, GradientProbe.updateRatio(0.1, 0.0, 0.0));
    }

    @Test
    void batchNormNetIsLeftAsItWasAndCsvHasEveryLayer() throws Exception {
        Init.manualSeed(3);
        Module m = Models.create("resnet8", ModelConfig.defaults(6));
        Map<String, Tensor> before = new java.util.LinkedHashMap<>();
        m.stateDict().forEach((k, v) -> before.put(k, v.copy()));
        Parameter fcw = m.namedParameters().get("fc.weight");
        Tensor pending = Tensor.full(0.5f, fcw.shape());
        fcw.addGradOwned(pending);

        GradientProbe.Result r = GradientProbe.probe(m, Tensor.randn(5, 2, 3, 16, 16), new int[] {1, 4}, 0.1);

        // conv1, three blocks of two convs, fc: option A shortcuts have no weights
        assertEquals(8, r.layers().size());
        assertEquals("conv1", r.layers().get(0).name());
        assertEquals("layer1.0.conv1", r.layers().get(1).name());
        assertEquals("fc", r.layers().get(7).name());
        for (GradientProbe.LayerStats l : r.layers()) assertTrue(l.gradNorm() > 0 && Double.isFinite(l.gradNorm()), l.name());
        m.stateDict().forEach((k, v) -> assertEquals(0f, Tensor.maxAbsDiff(before.get(k), v), k + " changed"));
        assertSame(pending, fcw.grad(), "a caller's pending gradient is put back");
        for (var e : m.namedParameters().entrySet()) if (!e.getKey().equals("fc.weight")) assertNull(e.getValue().grad(), e.getKey());
        assertTrue(m.isTraining());
        GradientProbe.ActivationStats block = r.lastBlock();
        assertNotNull(block);
        assertEquals("layer3.0", block.name());
        assertTrue(block.zeroFraction() >= 0 && block.zeroFraction() < 1);
        assertTrue(r.activations().stream().anyMatch(a -> a.type().equals("bn")));

        Path csv = dir.resolve("g/gradflow.csv"), acts = dir.resolve("g/activations.csv");
        r.toCsv(csv);
        r.activationsToCsv(acts);
        List<String> lines = Files.readAllLines(csv);
        assertEquals(String.join(",", GradientProbe.Result.CSV_COLUMNS), lines.get(0));
        assertEquals(9, lines.size());
        assertTrue(lines.get(1).startsWith("0,conv1,Conv2d,16x3x3x3,432,"), lines.get(1));
        assertEquals(r.activations().size() + 1, Files.readAllLines(acts).size());
    }
}
