package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Winograd F(2x2, 3x3) against the scalar reference and the im2col path it replaces, on odd
 * shapes: output sizes that leave half tiles at the right and bottom edges, padding 0 and 1,
 * single images (transforms split over channels, parallel GEMMs) and batches (one image per
 * worker), with and without the inference epilogue.
 */
class WinogradTest extends KernelTestBase {
    /**
     * |got - want| <= 8u (sqrt(K) S + |want|) per element, S the reduction over |x||w| and K = 9 cin: the
     * transforms add a few roundings of partial sums of at most 4x the input's magnitude to the
     * GEMM's own, so the bound is a small multiple of the dot-product bound. A wrong tap, tile
     * offset or edge crop moves an element by a whole product.
     */
    private static void assertClose(String what, float[] got, float[] want, float[] absSum, int k) {
        assertWithinDotBound(what, got, want, absSum, k, null, 8);
    }

    @ParameterizedTest(name = "n={0} cin={1} {2}x{3} cout={4} pad={5}")
    @CsvSource({
        "1, 8, 8, 8, 8, 1",      // whole tiles
        "1, 16, 13, 7, 24, 1",   // odd sizes: half tiles on both edges
        "3, 12, 9, 11, 8, 0",    // no padding: output 7x9, per-image path
        "2, 9, 5, 5, 10, 1",     // batch of 2 over 2 workers, 5x5 output
        "1, 64, 14, 14, 64, 1",  // a resnet layer shape, batch 1
        "4, 16, 3, 3, 16, 1"})   // the smallest: one tile and a half per side
    void matchesTheReferenceAndTheIm2colPath(int n, int cin, int h, int w, int cout, int pad) {
        ConvShape s = ConvShape.of(n, cin, h, w, cout, 3, 3, 1, 1, pad, pad, 1, 1, 1);
        assertTrue(Winograd.supports(s), s.toString());
        SplittableRandom r = new SplittableRandom(n * 1000 + cin * 10 + pad);
        float[] x = random(r, n * cin * h * w), wt = random(r, cout * cin * 9);
        float[] want = new float[n * cout * s.outPixels()], absSum = new float[want.length];
        ConvReference.forward(s, x, wt, null, want);
        float[] ax = x.clone(), aw = wt.clone();
        for (int i = 0; i < ax.length; i++) ax[i] = Math.abs(ax[i]);
        for (int i = 0; i < aw.length; i++) aw[i] = Math.abs(aw[i]);
        ConvReference.forward(s, ax, aw, null, absSum);

        float[] got = new float[want.length];
        java.util.Arrays.fill(got, Float.NaN); // every output element must be written
        Winograd.forward(s, x, wt, null, got, false);
        assertClose("winograd vs reference", got, want, absSum, 9 * cin);
        float[] im2col = new float[want.length];
        Conv.forwardIm2col(s, x, wt, null, im2col);
        assertClose("winograd vs im2col", got, im2col, absSum, 9 * cin);

        // the inference epilogue: folded BN, residual, ReLU
        float[] scale = random(r, cout), shift = random(r, cout), res = random(r, want.length);
        float[] e1 = new float[want.length], e2 = new float[want.length];
        Winograd.forward(s, x, wt, new Epilogue(scale, shift, res, true), e1, true);
        Conv.forwardIm2col(s, x, wt, new Epilogue(scale, shift, res, true), e2);
        float[] absE = new float[want.length];
        for (int i = 0; i < absE.length; i++) absE[i] = absSum[i] * Math.abs(scale[(i / s.outPixels()) % cout]) + 1;
        assertClose("epilogue", e1, e2, absE, 9 * cin);
    }

    /** Inference caches the transformed weights; an in-place edit of any one filter is seen. */
    @Test
    void cachedWeightTransformsFollowInPlaceEdits() {
        ConvShape s = ConvShape.of(1, 16, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        SplittableRandom r = new SplittableRandom(5);
        float[] x = random(r, 16 * 81), w = random(r, 32 * 16 * 9);
        float[] first = new float[32 * 81], again = new float[32 * 81], fresh = new float[32 * 81];
        Winograd.forward(s, x, w, null, first, true);
        Winograd.forward(s, x, w, null, again, true);
        org.junit.jupiter.api.Assertions.assertArrayEquals(first, again, "a cache hit gives the same output");
        for (int filter : new int[] {0, 17, 31}) {
            for (int i = 0; i < 16 * 9; i++) w[filter * 144 + i] *= -1.5f; // one filter, as an optimizer step moves it
            Winograd.forward(s, x, w, null, again, true);
            Winograd.forward(s, x, w, null, fresh, false);
            org.junit.jupiter.api.Assertions.assertArrayEquals(fresh, again, "after editing filter " + filter);
        }
        w[5] = 42f; // one element, not among the sampled ones: weightsChanged() makes it seen
        Conv.weightsChanged();
        Winograd.forward(s, x, w, null, again, true);
        Winograd.forward(s, x, w, null, fresh, false);
        org.junit.jupiter.api.Assertions.assertArrayEquals(fresh, again, "after weightsChanged()");
    }

    @Test
    void onlyStrideOneUndilatedUngroupedThreeByThreeAndOnlyWhereItWins() {
        assertFalse(Winograd.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1)), "stride 2");
        assertFalse(Winograd.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 1, 1, 2, 2, 2, 2, 1)), "dilation 2");
        assertFalse(Winograd.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2)), "groups 2");
        assertFalse(Winograd.supports(ConvShape.of(1, 16, 8, 8, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1)), "1x1");
        assertFalse(Winograd.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 1, 1, 2, 2, 1, 1, 1)), "padding 2");
        assertThrows(IllegalArgumentException.class,
                () -> Winograd.forward(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1), new float[1024], new float[2304], null, new float[256], false));
        // resnet layers: 128 channels at 28x28 and 256 at 14x14 take it; 64 at 56x56 and 512 at 7x7 do not
        assertTrue(Winograd.applies(ConvShape.of(1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1)) == Winograd.ENABLED);
        assertTrue(Winograd.applies(ConvShape.of(16, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1)) == Winograd.ENABLED);
        assertFalse(Winograd.applies(ConvShape.of(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
        assertFalse(Winograd.applies(ConvShape.of(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
    }

    /** Through Conv.forward, a shape that takes the Winograd path against the reference (and the parity goldens cover whole nets). */
    @Test
    void convForwardTakesItForLargeLayers() {
        ConvShape s = ConvShape.of(2, 128, 13, 12, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        assertTrue(Winograd.applies(s) || !Winograd.ENABLED);
        SplittableRandom r = new SplittableRandom(77);
        float[] x = random(r, 2 * 128 * 13 * 12), w = random(r, 128 * 128 * 9);
        float[] want = new float[2 * 128 * s.outPixels()], absSum = new float[want.length], got = new float[want.length];
        ConvReference.forward(s, x, w, null, want);
        float[] ax = x.clone(), aw = w.clone();
        for (int i = 0; i < ax.length; i++) ax[i] = Math.abs(ax[i]);
        for (int i = 0; i < aw.length; i++) aw[i] = Math.abs(aw[i]);
        ConvReference.forward(s, ax, aw, null, absSum);
        Conv.forward(s, x, w, (Epilogue) null, got);
        assertClose("Conv.forward", got, want, absSum, 9 * 128);

        // backward-data of a stride-1 3x3 conv is such a convolution too (flipped, transposed weights)
        float[] dy = random(r, want.length), dxWant = new float[x.length], dxAbs = new float[x.length], dx = new float[x.length];
        ConvReference.backwardData(s, dy, w, dxWant);
        float[] ady = dy.clone();
        for (int i = 0; i < ady.length; i++) ady[i] = Math.abs(ady[i]);
        ConvReference.backwardData(s, ady, aw, dxAbs);
        Conv.backwardData(s, dy, w, dx);
        assertClose("Conv.backwardData", dx, dxWant, dxAbs, 9 * 128);
    }
}
