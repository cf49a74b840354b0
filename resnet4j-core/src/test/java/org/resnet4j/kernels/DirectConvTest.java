package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The direct 3x3 kernel against the scalar reference and the im2col path: widths that are and
 * are not multiples of the vector length (the flat rows then straddle image rows), single images
 * and batches over both workers, the inference epilogue, and backward-data through it.
 */
class DirectConvTest extends KernelTestBase {
    /** The dot-product bound of ConvTest: 2u (sqrt(K) S + |want|), K = 9 cin; the kernel sums in a different order. */
    private static void assertClose(String what, float[] got, float[] want, float[] absSum, int k) {
        assertWithinDotBound(what, got, want, absSum, k, null, 2);
    }

    @ParameterizedTest(name = "n={0} cin={1} {2}x{3} cout={4}")
    @CsvSource({
        "1, 16, 32, 32, 16",  // a resnet20 layer, one image
        "3, 16, 8, 8, 16",    // 8-wide rows: a vector spans two flat rows
        "2, 3, 7, 5, 8",      // odd sizes, 3 input channels
        "5, 32, 16, 16, 32",  // a batch over both workers
        "1, 1, 1, 1, 8",      // one pixel
        "2, 8, 13, 29, 24"})  // widths past a vector, 3 output blocks
    void matchesTheReferenceAndTheIm2colPath(int n, int cin, int h, int w, int cout) {
        checkAgainstReferenceAndIm2col(n, cin, h, w, cout);
    }

    /**
     * Widths on this machine's vector boundaries, from the kernel's own lane count: a flat row
     * (W + 2) one short of a vector, exactly one, one over, and a plane that ends inside the
     * second vector of the last block; output channels in one, two and three blocks.
     */
    static Stream<Arguments> shapesAtThisWidth() {
        int l = DirectConv.L, co = DirectConv.CO_BLOCK;
        return Stream.of(Arguments.of(2, 8, 5, l - 3, co), Arguments.of(1, 16, 4, l - 2, 2 * co),
                Arguments.of(3, 4, 3, l - 1, 3 * co), Arguments.of(2, 3, 7, 2 * l + 1, co),
                Arguments.of(1, 8, 2 * l + 3, 3 * l - 2, 2 * co));
    }

    @ParameterizedTest(name = "n={0} cin={1} {2}x{3} cout={4}")
    @MethodSource("shapesAtThisWidth")
    void matchesOnThisWidthsBoundaries(int n, int cin, int h, int w, int cout) {
        checkAgainstReferenceAndIm2col(n, cin, h, w, cout);
    }

    private void checkAgainstReferenceAndIm2col(int n, int cin, int h, int w, int cout) {
        ConvShape s = ConvShape.of(n, cin, h, w, cout, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        assertTrue(DirectConv.supports(s));
        SplittableRandom r = new SplittableRandom(n * 100 + cin * 7 + h);
        float[] x = random(r, n * cin * h * w), wt = random(r, cout * cin * 9);
        ReferenceForward ref = ReferenceForward.of(s, x, wt);
        float[] want = ref.want(), absSum = ref.absSum(), got = new float[want.length];
        java.util.Arrays.fill(got, Float.NaN); // every output element must be written
        DirectConv.forward(s, x, wt, null, got);
        assertClose("direct vs reference", got, want, absSum, 9 * cin);
        float[] im2col = new float[want.length];
        Conv.forwardIm2col(s, x, wt, null, im2col);
        assertClose("direct vs im2col", got, im2col, absSum, 9 * cin);

        float[] scale = random(r, cout), shift = random(r, cout), res = random(r, want.length);
        float[] e1 = new float[want.length], e2 = new float[want.length], absE = new float[want.length];
        DirectConv.forward(s, x, wt, new Epilogue(scale, shift, res, true), e1);
        Conv.forwardIm2col(s, x, wt, new Epilogue(scale, shift, res, true), e2);
        for (int i = 0; i < absE.length; i++) absE[i] = absSum[i] * Math.abs(scale[(i / (h * w)) % cout]) + 1;
        assertClose("epilogue", e1, e2, absE, 9 * cin);

        // backward-weight (and the bias), overwriting and accumulating
        float[] dy = random(r, want.length), dwWant = new float[wt.length], dwAbs = new float[wt.length];
        float[] dbWant = new float[cout], dbAbs = new float[cout];
        ConvReference.backwardWeight(s, x, dy, dwWant, dbWant);
        ConvReference.backwardWeight(s, abs(x), abs(dy), dwAbs, dbAbs);
        float[] dw = random(r, wt.length), db = random(r, cout);
        DirectConv.backwardWeight(s, x, dy, dw, db, false);
        assertClose("dw", dw, dwWant, dwAbs, n * h * w);
        assertClose("db", db, dbWant, dbAbs, n * h * w);
        float[] start = random(r, wt.length), acc = start.clone(), accWant = new float[wt.length], accAbs = new float[wt.length];
        DirectConv.backwardWeight(s, x, dy, acc, null, true);
        for (int i = 0; i < wt.length; i++) {
            accWant[i] = start[i] + dwWant[i];
            accAbs[i] = dwAbs[i] + Math.abs(start[i]);
        }
        assertClose("dw accumulated", acc, accWant, accAbs, n * h * w);
    }

    /** Through Conv: a resnet20 layer's forward, backward-data (a stride-1 3x3 convolution of dy) and backward-weight take the direct path. */
    @Test
    void convForwardAndBackwardDataTakeIt() {
        ConvShape s = ConvShape.of(4, 16, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        assertTrue(DirectConv.applies(s) || !DirectConv.ENABLED);
        SplittableRandom r = new SplittableRandom(3);
        float[] x = random(r, 4 * 16 * 144), w = random(r, 16 * 16 * 9), dy = random(r, 4 * 16 * 144);
        ReferenceForward ref = ReferenceForward.of(s, x, w);
        float[] want = ref.want(), absSum = ref.absSum(), got = new float[x.length];
        Conv.forward(s, x, w, (Epilogue) null, got);
        assertClose("Conv.forward", got, want, absSum, 9 * 16);
        ConvReference.backwardData(s, dy, w, want);
        ConvReference.backwardData(s, abs(dy), abs(w), absSum);
        Conv.backwardData(s, dy, w, got);
        assertClose("Conv.backwardData", got, want, absSum, 9 * 16);
        assertTrue(DirectConv.appliesToWeightGradient(s) || !DirectConv.ENABLED);
        float[] dwWant = new float[w.length], dwAbs = new float[w.length], dw = new float[w.length];
        ConvReference.backwardWeight(s, x, dy, dwWant, null);
        ConvReference.backwardWeight(s, abs(x), abs(dy), dwAbs, null);
        Conv.backwardWeight(s, x, dy, dw, null, false);
        assertClose("Conv.backwardWeight", dw, dwWant, dwAbs, 4 * 144);
    }

    /**
     * Repeatable whatever the JIT has compiled: the first calls run interpreted, later ones C2's
     * code, and both must give the same bits (a lane reduction whose order the two paths chose
     * differently once made training runs differ).
     */
    @Test
    void backwardWeightGivesTheSameBitsOnEveryCall() {
        ConvShape s = ConvShape.of(3, 16, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        SplittableRandom r = new SplittableRandom(21);
        float[] x = random(r, 3 * 16 * 36), dy = random(r, 3 * 8 * 36), first = new float[8 * 16 * 9];
        DirectConv.backwardWeight(s, x, dy, first, null, false);
        for (int call = 0; call < 3000; call++) {
            float[] dw = new float[first.length];
            DirectConv.backwardWeight(s, x, dy, dw, null, false);
            org.junit.jupiter.api.Assertions.assertArrayEquals(first, dw, "call " + call);
        }
    }

    @Test
    void onlyPaddedStrideOneThreeByThreeWithWholeChannelBlocks() {
        assertFalse(DirectConv.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1)), "stride 2");
        assertFalse(DirectConv.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 1, 1, 0, 0, 1, 1, 1)), "no padding");
        assertFalse(DirectConv.supports(ConvShape.of(1, 16, 8, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1)), "10 output channels");
        assertFalse(DirectConv.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2)), "groups");
        assertFalse(DirectConv.applies(ConvShape.of(1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)), "64 input channels at 8x8: im2col");
        assertFalse(DirectConv.applies(ConvShape.of(1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1)), "128 input channels: im2col");
        assertTrue(DirectConv.applies(ConvShape.of(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)) == DirectConv.ENABLED, "64 at 56x56");
        assertThrows(IllegalArgumentException.class,
                () -> DirectConv.forward(ConvShape.of(1, 16, 8, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1), new float[1024], new float[1440], null, new float[640]));
    }
}
