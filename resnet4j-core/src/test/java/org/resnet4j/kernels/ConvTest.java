package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.PoolOps;
import org.resnet4j.tensor.Tensor;

/**
 * The convolution, batch-norm and pooling kernels against scalar references.
 *
 * <p>Conv tolerance, per element: 2u (sqrt(K) S + |ref| + |c0|), u = 2^-24, where S is the same
 * reduction taken over absolute values (the reference run on |x|, |w|, |dy|) and K its length
 * (cin/g*kh*kw for forward, cout/g*kh*kw for backward-data, n*oh*ow for backward-weight): the
 * probabilistic float32 dot-product bound (see GemmTest), plus one rounding of the result and of
 * the accumulate add. A wrong tap, group or padding offset changes an element by a whole product,
 * far above it.
 */
class ConvTest extends KernelTestBase {
    private static final double U = Math.pow(2, -24);
    /** got vs want elementwise with tol_i = 2u (sqrt(K) absSum_i + |want_i| + |c0_i|). */
    private static void assertClose(String what, float[] got, float[] want, float[] absSum, int k, float[] c0) {
        assertWithinDotBound(what, got, want, absSum, k, c0, 2);
    }

    // ------------------------------------------------------------------ convolution
    @ParameterizedTest(name = "n={0} cin={1} {2}x{3} cout={4} k={5} s={6} p={7} d={8} g={9} bias={10}")
    @CsvSource({
        // pointwise (1x1, stride 1, pad 0: no im2col), batched and single, grouped
        "3, 8, 7, 7, 12, 1, 1, 0, 1, 1, true",
        "1, 8, 5, 5, 4, 1, 1, 0, 1, 4, false",
        "3, 5, 1, 1, 7, 1, 1, 0, 1, 1, true",
        "1, 16, 13, 13, 32, 1, 1, 0, 1, 1, false",
        // 1x1 stride 2 (projection shortcut): not pointwise
        "3, 4, 7, 7, 8, 1, 2, 0, 1, 1, false",
        // 3x3
        "1, 3, 13, 13, 5, 3, 1, 1, 1, 1, true",
        "3, 4, 13, 7, 6, 3, 2, 1, 1, 2, false",
        "1, 16, 13, 13, 32, 3, 1, 1, 1, 1, false",
        "1, 6, 13, 13, 4, 3, 3, 0, 1, 2, false",
        "3, 4, 13, 13, 6, 3, 2, 1, 2, 2, true",
        "1, 4, 1, 1, 6, 3, 1, 1, 1, 2, true",
        "1, 4, 5, 5, 4, 3, 2, 0, 2, 1, false",
        "3, 2, 5, 7, 4, 3, 1, 0, 1, 1, true",
        // batch 1 large enough that im2col splits its input channels, and the bias epilogue its
        // output channels, over both workers (stride 1 and the strided row path)
        "1, 48, 23, 23, 64, 3, 1, 1, 1, 1, true",
        "1, 40, 24, 24, 8, 3, 2, 1, 1, 1, false",
        // batch 1 with few columns (49: two panels) and 40 output channels: the GEMM splits its
        // rows, not its panels, over the workers (pointwise and im2col)
        "1, 8, 7, 7, 40, 1, 1, 0, 1, 1, true",
        "1, 8, 7, 7, 40, 3, 2, 1, 1, 1, false",
        // backward-weight lays small images side by side along the GEMM depth: 12x12 outputs give
        // batches of 2 with a remainder of 1 (7 images over 2 workers); pointwise, batches of 3
        "7, 3, 12, 12, 5, 3, 1, 1, 1, 1, true",
        "6, 8, 7, 7, 12, 1, 1, 0, 1, 1, false",
        // depthwise (groups == cin), with channel multiplier 1 and 2
        "3, 6, 7, 7, 6, 3, 1, 1, 1, 6, true",
        "1, 4, 13, 13, 8, 3, 2, 3, 2, 4, false",
        // 7x7 (stem), stride 2 pad 3; stride 3 with dilation 2
        "1, 3, 13, 13, 8, 7, 2, 3, 1, 1, false",
        // stride 2 with rows wide enough for the vectorized gather (35 and 19 outputs: two and
        // one vectors of even lanes, then a scalar tail), batch 1 and batch 2
        "1, 3, 70, 70, 8, 7, 2, 3, 1, 1, false",
        "2, 4, 40, 37, 8, 3, 2, 1, 1, 1, true",
        // batch 1 with a short depth: im2col and GEMM interleaved block by block of columns
        // (blocks crossing output rows, a last panel cut short), a 7x7 stride-2 stem and a 3x3
        "1, 3, 110, 110, 8, 7, 2, 3, 1, 1, false",
        "1, 5, 76, 76, 10, 3, 1, 1, 1, 1, true",
        "3, 2, 13, 13, 3, 7, 3, 3, 2, 1, true",
        "3, 4, 7, 5, 4, 7, 1, 3, 1, 4, true"})
    void matchesReference(int n, int cin, int h, int w, int cout, int k, int stride, int pad, int dil, int groups, boolean withBias) {
        ConvShape s = ConvShape.of(n, cin, h, w, cout, k, k, stride, stride, pad, pad, dil, dil, groups);
        assertEquals(k == 1 && stride == 1 && pad == 0, s.isPointwise());
        checkEveryPath(s, withBias, n * 1000L + cin * 100 + h * 10 + k + stride + pad + dil + groups);
    }

    /**
     * Shapes placed on this machine's kernel boundaries, derived from the kernels' own constants
     * (vector lanes, GEMM panel width and rows, the blocked path's threshold, the thread count),
     * so that each path is reached at whatever vector width the JVM runs: the shapes in the list
     * above were chosen at 16 lanes and may miss a boundary at 8 or 4.
     */
    static Stream<Arguments> shapesAtThisWidth() {
        int l = Hardware.LANES, nr = Gemm.NR, mr = Gemm.MR;
        List<Arguments> out = new ArrayList<>();
        // stride-2 rows gathered as even lanes: two vectors and a scalar tail, one and a tail
        out.add(Arguments.of(ConvShape.of(1, 3, 2 * (2 * l + 3), 2 * (2 * l + 3), mr, 7, 7, 2, 2, 3, 3, 1, 1, 1), "stride-2 rows of 2 vectors + 3"));
        out.add(Arguments.of(ConvShape.of(2, 4, 9, 2 * (l + 3) - 1, mr, 3, 3, 2, 2, 1, 1, 1, 1, 1), "stride-2 rows of 1 vector + 3"));
        // pointwise GEMMs with a partial last panel and every kind of leftover rows
        for (int rows : new int[] {mr + 1, 2 * mr - 1, 2 * mr + 3})
            out.add(Arguments.of(ConvShape.of(1, 8, 1, 2 * nr + 1, rows, 1, 1, 1, 1, 0, 0, 1, 1, 1), "1x1, " + rows + " output channels"));
        // batch 1, few columns: the GEMM splits its rows over the workers
        out.add(Arguments.of(ConvShape.of(1, 8, 1, nr + 3, 4 * mr * Parallel.threads() + 5, 3, 3, 1, 1, 1, 1, 1, 1, 1), "rows split"));
        // the blocked path: the smallest planes that take it (a 7x7 stride-2 stem, a 3x3), and the
        // next size up, whose last panel is cut short
        for (int[] c : new int[][] {{3, 7, 2, 3, 8}, {5, 3, 1, 1, 10}}) {
            ConvShape first = smallestBlocked(c[0], c[1], c[2], c[3], c[4], 0);
            out.add(Arguments.of(first, "blocked, smallest"));
            out.add(Arguments.of(smallestBlocked(c[0], c[1], c[2], c[3], c[4], first.h() + 1), "blocked, ragged"));
        }
        return out.stream();
    }

    /** The smallest square batch-1 plane from {@code from} on that {@link Conv#blocked} takes, with a partial last panel unless from is 0. */
    private static ConvShape smallestBlocked(int cin, int k, int stride, int pad, int cout, int from) {
        for (int h = Math.max(from, k); ; h++) {
            ConvShape s = ConvShape.of(1, cin, h, h, cout, k, k, stride, stride, pad, pad, 1, 1, 1);
            if (Conv.blocked(s) && (from == 0 || s.outPixels() % Gemm.NR != 0)) return s;
        }
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("shapesAtThisWidth")
    void matchesReferenceOnThisWidthsBoundaries(ConvShape s, String what) {
        if (what.startsWith("blocked")) assertTrue(Conv.blocked(s), "takes the blocked path: " + s);
        checkEveryPath(s, true, s.h() * 31L + s.w() + s.cout());
    }

    /** Forward (plain and with the epilogue), backward-data and backward-weight (both modes) against {@link ConvReference}. */
    private static void checkEveryPath(ConvShape s, boolean withBias, long seed) {
        int n = s.n(), cin = s.cin(), h = s.h(), w = s.w(), cout = s.cout(), k = s.kh();
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = random(r, n * cin * h * w);
        float[] wt = random(r, s.weightSize());
        float[] bias = withBias ? random(r, cout) : null;
        int ySize = n * cout * s.oh() * s.ow();
        float[] dy = random(r, ySize);

        // forward: y is pre-filled with junk, the kernel must overwrite it
        float[] y = random(r, ySize), yRef = new float[ySize], yAbs = new float[ySize];
        Conv.forward(s, x, wt, bias, y);
        ConvReference.forward(s, x, wt, bias, yRef);
        ConvReference.forward(s, abs(x), abs(wt), abs(bias), yAbs);
        assertClose("forward", y, yRef, yAbs, s.colRows(), null);

        // the inference epilogue (folded BN scale and shift, residual, ReLU), which the GEMM
        // applies panel by panel: against the reference convolution followed by the same map
        float[] scale = random(r, cout), shift = random(r, cout), res = random(r, ySize);
        float[] yRaw = new float[ySize], yEpi = random(r, ySize), yEpiRef = new float[ySize], yEpiAbs = new float[ySize];
        ConvReference.forward(s, x, wt, null, yRaw);
        for (int i = 0; i < ySize; i++) {
            int ch = i / s.outPixels() % cout;
            yEpiRef[i] = (float) Math.max(0, (double) yRaw[i] * scale[ch] + shift[ch] + res[i]);
            yEpiAbs[i] = yAbs[i] * Math.abs(scale[ch]) + 1;
        }
        Conv.forwardIm2col(s, x, wt, new Epilogue(scale, shift, res, true), yEpi);
        assertClose("forward with epilogue", yEpi, yEpiRef, yEpiAbs, s.colRows(), null);

        // backward data: overwrites dx
        float[] dx = random(r, x.length), dxRef = new float[x.length], dxAbs = new float[x.length];
        Conv.backwardData(s, dy, wt, dx);
        ConvReference.backwardData(s, dy, wt, dxRef);
        ConvReference.backwardData(s, abs(dy), abs(wt), dxAbs);
        assertClose("backwardData", dx, dxRef, dxAbs, s.coutPerGroup() * k * k, null);

        // backward weight, overwrite mode (junk in dw and db must be ignored)
        float[] dwRef = new float[wt.length], dwAbs = new float[wt.length];
        float[] dbRef = new float[cout], dbAbs = new float[cout];
        ConvReference.backwardWeight(s, x, dy, dwRef, dbRef);
        ConvReference.backwardWeight(s, abs(x), abs(dy), dwAbs, dbAbs);
        int kw = n * s.outPixels();
        float[] dw = random(r, wt.length), db = withBias ? random(r, cout) : null;
        Conv.backwardWeight(s, x, dy, dw, db, false);
        assertClose("backwardWeight dw", dw, dwRef, dwAbs, kw, null);
        if (withBias) assertClose("backwardWeight db", db, dbRef, dbAbs, kw, null);

        // backward weight, accumulate mode: adds to what is there
        float[] dw0 = random(r, wt.length), db0 = random(r, cout);
        float[] dwAcc = dw0.clone(), dbAcc = db0.clone();
        Conv.backwardWeight(s, x, dy, dwAcc, withBias ? dbAcc : null, true);
        float[] dwWant = new float[wt.length], dbWant = new float[cout];
        for (int i = 0; i < wt.length; i++) dwWant[i] = (float) ((double) dw0[i] + dwRef[i]);
        for (int i = 0; i < cout; i++) dbWant[i] = (float) ((double) db0[i] + dbRef[i]);
        assertClose("backwardWeight dw (accumulate)", dwAcc, dwWant, dwAbs, kw, dw0);
        if (withBias) assertClose("backwardWeight db (accumulate)", dbAcc, dbWant, dbAbs, kw, db0);
        else assertArrayEquals(db0, dbAcc, "db untouched when null is passed");
    }

    @Test
    void outputSizeFollowsPyTorch() {
        // floor((in + 2p - d(k-1) - 1) / s) + 1
        assertEquals(112, ConvShape.of(1, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1).oh());
        assertEquals(4, ConvShape.of(1, 1, 7, 7, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1).oh());
        assertEquals(3, ConvShape.of(1, 1, 13, 13, 1, 7, 7, 3, 3, 3, 3, 2, 2, 1).oh());
        assertEquals(1, ConvShape.of(1, 1, 5, 5, 1, 3, 3, 2, 2, 0, 0, 2, 2, 1).oh());
        assertEquals(5, ConvShape.of(1, 1, 5, 9, 1, 3, 3, 1, 2, 1, 0, 1, 1, 1).oh());
        assertEquals(4, ConvShape.of(1, 1, 5, 9, 1, 3, 3, 1, 2, 1, 0, 1, 1, 1).ow());
    }

    // ------------------------------------------------------------------ batch norm
    @Nested
    class BatchNormKernels {
        /** x with per-channel offset and scale, so mean/std differ per channel and the offset is large (cancellation). */
        private float[] input(SplittableRandom r, int n, int c, int hw) {
            float[] x = new float[n * c * hw];
            for (int img = 0; img < n; img++)
                for (int ch = 0; ch < c; ch++)
                    for (int i = 0; i < hw; i++)
                        x[(img * c + ch) * hw + i] = (float) ((ch - 1.5) * 2 + (0.3 + 0.4 * ch) * Tensor.gaussian(r));
            return x;
        }

        /** Per-channel mean and biased variance in double, straight from the definition. */
        private double[][] stats(float[] x, int n, int c, int hw) {
            double[] mean = new double[c], var = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int img = 0; img < n; img++) for (int i = 0; i < hw; i++) s += x[(img * c + ch) * hw + i];
                mean[ch] = s / (n * hw);
                double q = 0;
                for (int img = 0; img < n; img++)
                    for (int i = 0; i < hw; i++) {
                        double d = x[(img * c + ch) * hw + i] - mean[ch];
                        q += d * d;
                    }
                var[ch] = q / (n * hw);
            }
            return new double[][] {mean, var};
        }

        private void near(String what, double want, float got, double tol) {
            if (!(Math.abs(got - want) <= tol)) fail(String.format("%s: %s vs %s (|err| %.3g > %.3g)", what, got, want, Math.abs(got - want), tol));
        }

        @ParameterizedTest(name = "n={0} c={1} hw={2}")
        @CsvSource({"3, 5, 35", "1, 4, 169", "8, 3, 1", "2, 1, 49"})
        void trainForwardAndBackward(int n, int c, int hw) {
            SplittableRandom r = new SplittableRandom(n * 100 + c * 10 + hw);
            float eps = 1e-5f;
            float[] x = input(r, n, c, hw), gamma = random(r, c), beta = random(r, c), dy = random(r, n * c * hw);
            float[] y = random(r, x.length), mean = new float[c], invstd = new float[c], bvar = new float[c];
            BatchNorm.forwardTrain(n, c, hw, x, gamma, beta, eps, y, mean, invstd, bvar);

            double[][] st = stats(x, n, c, hw);
            int m = n * hw;
            float[] dg0 = random(r, c), db0 = random(r, c);
            float[] dx = random(r, x.length), dgamma = dg0.clone(), dbeta = db0.clone();
            BatchNorm.backwardTrain(n, c, hw, x, dy, gamma, mean, invstd, dx, dgamma, dbeta);
            for (int ch = 0; ch < c; ch++) {
                double mu = st[0][ch], var = st[1][ch], is = 1 / Math.sqrt(var + eps);
                // float32 x and float-rounded saved statistics: relative errors of a few u, times
                // the conditioning |mean| * invstd of the centring (the channel offsets make it ~10)
                double cond = 1 + Math.abs(mu) * is;
                near("mean[" + ch + "]", mu, mean[ch], 2 * U * Math.abs(mu) + 1e-30);
                near("var[" + ch + "]", var, bvar[ch], 2 * U * var + 1e-30);
                near("invstd[" + ch + "]", is, invstd[ch], 2 * U * is);
                double scale = is * gamma[ch], shift = beta[ch] - mu * scale;
                double sdy = 0, sdyx = 0, sAbsDy = 0, sAbsDyx = 0;
                for (int img = 0; img < n; img++)
                    for (int i = 0; i < hw; i++) {
                        int at = (img * c + ch) * hw + i;
                        double want = x[at] * scale + shift;
                        near("y[" + at + "]", want, y[at], 8 * U * (Math.abs(x[at] * scale) + Math.abs(shift) + Math.abs(want)));
                        double xhat = (x[at] - mu) * is;
                        sdy += dy[at];
                        sdyx += dy[at] * xhat;
                        sAbsDy += Math.abs(dy[at]);
                        sAbsDyx += Math.abs(dy[at]) * (Math.abs(xhat) + cond);
                    }
                near("dbeta[" + ch + "] (accumulated)", db0[ch] + sdy, dbeta[ch], 4 * U * (sAbsDy + Math.abs(db0[ch])));
                double dgTol = 8 * U * sAbsDyx;
                near("dgamma[" + ch + "] (accumulated)", dg0[ch] + sdyx, dgamma[ch], dgTol + 4 * U * Math.abs(dg0[ch]));
                double k = gamma[ch] * is, a = sdy / m, b = sdyx / m;
                for (int img = 0; img < n; img++)
                    for (int i = 0; i < hw; i++) {
                        int at = (img * c + ch) * hw + i;
                        double xhat = (x[at] - mu) * is;
                        double want = k * (dy[at] - a - xhat * b);
                        // rounding of k, of xhat (cond), of the sums behind b (dgTol / m), and of the result
                        double tol = Math.abs(k) * (8 * U * (Math.abs(dy[at]) + Math.abs(a) + (Math.abs(xhat) + cond) * Math.abs(b))
                                + Math.abs(xhat) * dgTol / m);
                        near("dx[" + at + "]", want, dx[at], tol);
                    }
            }

            // dx == null: only the parameter gradients; dgamma == null: only dx and dbeta
            float[] dg2 = new float[c], db2 = new float[c], dx2 = new float[x.length];
            BatchNorm.backwardTrain(n, c, hw, x, dy, gamma, mean, invstd, null, dg2, db2);
            for (int ch = 0; ch < c; ch++) {
                assertEquals(dgamma[ch] - dg0[ch], dg2[ch], 4 * U * (Math.abs(dgamma[ch]) + Math.abs(dg0[ch])) + 1e-30);
            }
            BatchNorm.backwardTrain(n, c, hw, x, dy, gamma, mean, invstd, dx2, null, db2);
            assertArrayEquals(dx, dx2, 0f, "dx does not depend on which parameter gradients are requested");
        }

        @ParameterizedTest(name = "n={0} c={1} hw={2}")
        @CsvSource({"3, 5, 35", "1, 4, 169", "8, 3, 1"})
        void evalForwardAndBackward(int n, int c, int hw) {
            SplittableRandom r = new SplittableRandom(7 + n * 100 + c * 10 + hw);
            float eps = 1e-5f;
            float[] x = input(r, n, c, hw), gamma = random(r, c), beta = random(r, c), dy = random(r, n * c * hw);
            float[] rm = new float[c], rv = new float[c];
            for (int ch = 0; ch < c; ch++) {
                rm[ch] = (float) ((ch - 1.5) * 2 + 0.3 * r.nextDouble());
                rv[ch] = (float) (0.2 + r.nextDouble());
            }
            float[] rmCopy = rm.clone(), rvCopy = rv.clone();
            float[] y = random(r, x.length);
            BatchNorm.forwardEval(n, c, hw, x, gamma, beta, rm, rv, eps, y);
            float[] dg0 = random(r, c), db0 = random(r, c);
            float[] dx = random(r, x.length), dgamma = dg0.clone(), dbeta = db0.clone();
            BatchNorm.backwardEval(n, c, hw, x, dy, gamma, rm, rv, eps, dx, dgamma, dbeta);
            assertArrayEquals(rmCopy, rm, "eval must not touch running_mean");
            assertArrayEquals(rvCopy, rv, "eval must not touch running_var");
            for (int ch = 0; ch < c; ch++) {
                double is = 1 / Math.sqrt(rv[ch] + (double) eps), scale = is * gamma[ch], shift = beta[ch] - rm[ch] * scale;
                double sdy = 0, sdyx = 0, sAbsDy = 0, sAbsDyx = 0;
                for (int img = 0; img < n; img++)
                    for (int i = 0; i < hw; i++) {
                        int at = (img * c + ch) * hw + i;
                        double want = x[at] * scale + shift;
                        near("y[" + at + "]", want, y[at], 8 * U * (Math.abs(x[at] * scale) + Math.abs(shift) + Math.abs(want)));
                        near("dx[" + at + "]", dy[at] * scale, dx[at], 4 * U * Math.abs(dy[at] * scale));
                        sdy += dy[at];
                        sdyx += dy[at] * (x[at] - rm[ch]) * is;
                        sAbsDy += Math.abs(dy[at]);
                        sAbsDyx += Math.abs(dy[at]) * (Math.abs(x[at]) + Math.abs(rm[ch])) * is;
                    }
                near("dbeta[" + ch + "]", db0[ch] + sdy, dbeta[ch], 4 * U * (sAbsDy + Math.abs(db0[ch])));
                near("dgamma[" + ch + "]", dg0[ch] + sdyx, dgamma[ch], 4 * U * (sAbsDyx + Math.abs(dg0[ch])));
            }
        }
    }

    // ------------------------------------------------------------------ pooling
    @Nested
    class Pooling {
        /** PyTorch's pooling_output_shape, values worked out by hand. */
        @ParameterizedTest(name = "in={0} k={1} s={2} p={3} d={4} ceil={5} -> {6}")
        @CsvSource({
            "112, 3, 2, 1, 1, false, 56",   // ResNet stem max pool: 111/2 + 1
            "112, 3, 2, 1, 1, true, 57",    // ceil(111/2) + 1; the last window starts at 112 < 112 + 1: kept
            "5, 2, 2, 0, 1, false, 2",      // 3/2 + 1
            "5, 2, 2, 0, 1, true, 3",       // ceil(3/2) + 1; last window starts at 4 < 5
            "6, 3, 2, 1, 1, false, 3",      // 5/2 + 1
            "6, 3, 2, 1, 1, true, 4",       // ceil(5/2) + 1; last starts at 6 < 6 + 1
            "4, 2, 3, 1, 1, false, 2",      // 4/3 + 1
            "4, 2, 3, 1, 1, true, 2",       // ceil(4/3) + 1 = 3, but window 2 would start at 6 >= 4 + 1: dropped
            "3, 2, 2, 1, 1, true, 2",       // ceil(3/2) + 1 = 3, window 2 starts at 4 >= 3 + 1: dropped
            "13, 3, 2, 1, 2, false, 6",     // (13 + 2 - 4 - 1)/2 + 1
            "13, 3, 2, 1, 2, true, 6",      // ceil(10/2) + 1
            "8, 3, 2, 0, 1, false, 3",      // 5/2 + 1
            "8, 3, 2, 0, 1, true, 4",       // ceil(5/2) + 1; last starts at 6 < 8
            "7, 7, 1, 0, 1, false, 1",      // global 7x7
            "1, 1, 2, 0, 1, true, 1"})
        void outSize(int in, int k, int s, int p, int d, boolean ceil, int expected) {
            assertEquals(expected, Pool.outSize(in, k, s, p, d, ceil));
        }

        @Test
        void opsUseTheFormulaPerAxis() {
            Variable x = Variable.constant(Tensor.randn(1, 2, 3, 6, 8));
            assertTrue(PoolOps.maxPool(x, 3, 2, 1, 1, true).value().hasShape(2, 3, 4, 5));
            assertTrue(PoolOps.maxPool(x, 3, 2, 1, 1, false).value().hasShape(2, 3, 3, 4));
            assertTrue(PoolOps.avgPool(x, 2, 2, 1).value().hasShape(2, 3, 4, 5));
            assertTrue(PoolOps.adaptiveAvgPool(x, 3, 5).value().hasShape(2, 3, 3, 5));
        }

        /** Adaptive bins: start = floor(i * in / out), end = ceil((i + 1) * in / out), worked out by hand. */
        @Test
        void adaptiveBins() {
            assertBins(7, 3, new int[] {0, 2, 4}, new int[] {3, 5, 7});
            assertBins(5, 2, new int[] {0, 2}, new int[] {3, 5});
            assertBins(6, 4, new int[] {0, 1, 3, 4}, new int[] {2, 3, 5, 6});
            assertBins(3, 5, new int[] {0, 0, 1, 1, 2}, new int[] {1, 2, 2, 3, 3}); // upsampling: bins overlap
            assertBins(7, 1, new int[] {0}, new int[] {7});
        }

        private void assertBins(int in, int out, int[] starts, int[] ends) {
            for (int i = 0; i < out; i++) {
                assertEquals(starts[i], Pool.binStart(i, in, out), "start of bin " + i + " for " + in + " -> " + out);
                assertEquals(ends[i], Pool.binEnd(i, in, out), "end of bin " + i + " for " + in + " -> " + out);
            }
        }

        @Test
        void adaptiveAverageValues() {
            // x[iy][ix] = iy^2 + ix on 7 x 6 -> 3 x 4. Bin means: rows {0,1,2},{2,3,4},{4,5,6} of iy^2 give
            // 5/3, 29/3, 77/3; columns {0,1},{1,2},{3,4},{4,5} of ix give 0.5, 1.5, 3.5, 4.5.
            int h = 7, w = 6;
            float[] x = new float[h * w];
            for (int iy = 0; iy < h; iy++) for (int ix = 0; ix < w; ix++) x[iy * w + ix] = iy * iy + ix;
            float[] y = new float[12];
            Pool.adaptiveAvgForward(1, h, w, 3, 4, x, y);
            double[] rows = {5 / 3.0, 29 / 3.0, 77 / 3.0}, cols = {0.5, 1.5, 3.5, 4.5};
            for (int oy = 0; oy < 3; oy++)
                for (int ox = 0; ox < 4; ox++) assertEquals(rows[oy] + cols[ox], y[oy * 4 + ox], 1e-5, "y[" + oy + "][" + ox + "]");

            // 5 -> 2 along one axis: bins {0,1,2}, {2,3,4}; dy = 1 per bin spreads 1/3 to each
            // member, so the shared element 2 gets 2/3
            float[] dx = new float[5];
            Pool.adaptiveAvgBackward(1, 1, 5, 1, 2, new float[] {1, 1}, dx);
            assertArrayEquals(new float[] {1 / 3f, 1 / 3f, 2 / 3f, 1 / 3f, 1 / 3f}, dx, 1e-7f);
        }

        @Test
        void averageCountsPaddingInTheDivisor() {
            // 3x3 plane 1..9, k=2 s=2 p=1 (count_include_pad=True): every window is 2x2 including padding
            float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y = new float[4];
            Pool.avgForward(1, 3, 3, 2, 2, 2, 2, 1, x, y);
            assertArrayEquals(new float[] {1 / 4f, 5 / 4f, 11 / 4f, 28 / 4f}, y, 1e-6f);
            float[] dx = new float[9];
            Pool.avgBackward(1, 3, 3, 2, 2, 2, 2, 1, new float[] {4, 4, 4, 4}, dx);
            assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1}, dx, 0f);
            // k=3 s=2 p=1 on 5x5: the corner window is clipped to the padded extent 3x3 -> divisor 9
            float[] ones = new float[25], y2 = new float[9];
            java.util.Arrays.fill(ones, 1f);
            Pool.avgForward(1, 5, 5, 3, 3, 3, 2, 1, ones, y2);
            assertEquals(4 / 9f, y2[0], 1e-6f); // 2x2 real pixels in the top-left window
            assertEquals(6 / 9f, y2[1], 1e-6f);
            assertEquals(1f, y2[4], 1e-6f);
        }

        @Test
        void maxIgnoresPaddingAndHandlesCeilWindows() {
            // all negative: padding must not contribute zeros
            float[] neg = new float[25];
            for (int i = 0; i < 25; i++) neg[i] = -1 - i;
            float[] y = new float[9];
            int[] arg = new int[9];
            Pool.maxForward(1, 5, 5, 3, 3, 3, 2, 1, 1, neg, y, arg);
            assertArrayEquals(new float[] {-1, -2, -4, -6, -7, -9, -16, -17, -19}, y, 0f);
            assertArrayEquals(new int[] {0, 1, 3, 5, 6, 8, 15, 16, 18}, arg);
            // 5x5 of 1..25, k=2 s=2 ceil: windows rows {0,1},{2,3},{4}; max at row 1, 3, 4 and col 1, 3, 4
            float[] x = new float[25];
            for (int i = 0; i < 25; i++) x[i] = i + 1;
            assertEquals(3, Pool.outSize(5, 2, 2, 0, 1, true));
            Pool.maxForward(1, 5, 5, 3, 3, 2, 2, 0, 1, x, y, arg);
            assertArrayEquals(new float[] {7, 9, 10, 17, 19, 20, 22, 24, 25}, y, 0f);
            float[] dx = new float[25];
            Pool.maxBackward(1, 5, 5, 3, 3, new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, arg, dx);
            float[] want = new float[25];
            int[] at = {6, 8, 9, 16, 18, 19, 21, 23, 24};
            for (int i = 0; i < 9; i++) want[at[i]] = i + 1;
            assertArrayEquals(want, dx, 0f);
        }

        @Test
        void maxPropagatesNaN() {
            float[] x = new float[16];
            for (int i = 0; i < 16; i++) x[i] = i;
            x[5] = Float.NaN;
            float[] y = new float[4];
            Pool.maxForward(1, 4, 4, 2, 2, 2, 2, 0, 1, x, y, new int[4]);
            assertTrue(Float.isNaN(y[0]), "the window holding the NaN");
            assertEquals(7f, y[1]);
            assertEquals(13f, y[2]);
            assertEquals(15f, y[3]);
        }

        /** Interior windows (no bounds checks) and border windows against PyTorch's rule, NaNs included. */
        @ParameterizedTest(name = "{0}x{1} k={2} s={3} p={4} d={5}")
        @CsvSource({"11, 9, 3, 2, 1, 1", "8, 8, 2, 2, 0, 1", "9, 10, 3, 1, 2, 2"})
        void maxMatchesPyTorchsRuleWithNaNs(int h, int w, int k, int stride, int pad, int dil) {
            SplittableRandom r = new SplittableRandom(h * 31 + w + k);
            int planes = 3, oh = Pool.outSize(h, k, stride, pad, dil, false), ow = Pool.outSize(w, k, stride, pad, dil, false);
            float[] x = random(r, planes * h * w);
            for (int i = 0; i < 6; i++) x[r.nextInt(x.length)] = Float.NaN;
            float[] y = new float[planes * oh * ow];
            int[] arg = new int[y.length];
            Pool.maxForward(planes, h, w, oh, ow, k, stride, pad, dil, x, y, arg);
            for (int p = 0; p < planes; p++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        float best = Float.NEGATIVE_INFINITY;
                        int want = -1;
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int iy = oy * stride - pad + ki * dil, ix = ox * stride - pad + kj * dil;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                float v = x[p * h * w + iy * w + ix];
                                if (v > best || Float.isNaN(v) || want < 0) { // max_pool2d's CPU kernel
                                    best = v;
                                    want = iy * w + ix;
                                }
                            }
                        int o = p * oh * ow + oy * ow + ox;
                        assertEquals(best, y[o], 0f, "y at plane " + p + " (" + oy + "," + ox + ")");
                        assertEquals(want, arg[o], "argmax at plane " + p + " (" + oy + "," + ox + ")");
                    }
            // the inference kernel (values only, branch-free) gives the same values, NaNs included
            float[] values = new float[y.length];
            Pool.maxForwardValues(planes, h, w, oh, ow, k, stride, pad, dil, x, values);
            for (int i = 0; i < y.length; i++) assertEquals(y[i], values[i], 0f, "values-only kernel at " + i);
        }

        @Test
        void planesAreIndependentAcrossThreads() {
            // 37 planes: split unevenly over the workers; each plane must match the single-plane result
            SplittableRandom r = new SplittableRandom(9);
            int planes = 37, h = 7, w = 5, oh = 3, ow = 2;
            float[] x = random(r, planes * h * w), y = new float[planes * oh * ow];
            Pool.adaptiveAvgForward(planes, h, w, oh, ow, x, y);
            for (int p = 0; p < planes; p++) {
                float[] one = new float[oh * ow];
                Pool.adaptiveAvgForward(1, h, w, oh, ow, java.util.Arrays.copyOfRange(x, p * h * w, (p + 1) * h * w), one);
                assertArrayEquals(one, java.util.Arrays.copyOfRange(y, p * oh * ow, (p + 1) * oh * ow), 0f, "plane " + p);
            }
        }
    }
}
