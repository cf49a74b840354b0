package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The direct kernels by columns (output channels in lanes: {@link DirectForwardColumns},
 * {@link DirectWeightGradient}) against the scalar reference at every width, whichever form this
 * machine's register file picks: shapes from the kernels' own panel width, rows and tap block,
 * batches that end inside a flush group, widths on and off the vector length, the inference
 * epilogue, and backward-weight's same bits on every call and thread count.
 */
class DirectColumnsTest extends KernelTestBase {
    static Stream<Arguments> shapes() {
        int co = DirectWeightGradient.COLUMNS, g = DirectWeightGradient.IMAGES_PER_FLUSH;
        int ci = DirectWeightGradient.TAPS / 3;  // the fewest input channels whose 9 taps fill whole tap blocks
        int l = Hardware.LANES;
        return Stream.of(Arguments.of(1, ci, 5, 7, co, 1), Arguments.of(g + 1, 8 * ci, 8, 8, co, 1),
                Arguments.of(2, 3 * ci, l - 1, l + 1, 2 * co, 1), Arguments.of(2 * g + 3, 16, 6, 2 * l + 3, co, 1),
                Arguments.of(3, ci, 1, 1, 3 * co, 1), Arguments.of(2, 16, 32, 32, 16 / co * co + co, 1),
                Arguments.of(3, 2 * ci, 20, 21, co, 1),
                // stride 2: odd and even sizes, several small images per pass
                Arguments.of(g + 3, 16, 9, 8, co, 2), Arguments.of(2 * g + 1, 2 * ci, 14, 14, 2 * co, 2),
                Arguments.of(2, ci, 1, 2, co, 2));
    }

    @ParameterizedTest(name = "n={0} cin={1} {2}x{3} cout={4} stride={5}")
    @MethodSource("shapes")
    void matchesTheReference(int n, int cin, int h, int w, int cout, int stride) {
        ConvShape s = ConvShape.of(n, cin, h, w, cout, 3, 3, stride, stride, 1, 1, 1, 1, 1);
        assertTrue(DirectWeightGradient.supports(s), s.toString());
        SplittableRandom r = new SplittableRandom(n * 31 + cin * 7 + h * 3 + w + stride);
        float[] x = random(r, n * cin * h * w), dy = random(r, n * cout * s.outPixels());
        float[] want = new float[cout * cin * 9], abs = new float[want.length], dbWant = new float[cout], dbAbs = new float[cout];
        ConvReference.backwardWeight(s, x, dy, want, dbWant);
        ConvReference.backwardWeight(s, abs(x), abs(dy), abs, dbAbs);
        float[] dw = random(r, want.length), db = random(r, cout);  // overwritten
        DirectConv.backwardWeight(s, x, dy, dw, db, false, true);
        int terms = n * s.outPixels();
        assertWithinDotBound("dw", dw, want, abs, terms, null, 2);
        assertWithinDotBound("db", db, dbWant, dbAbs, terms, null, 2);
        float[] start = random(r, want.length), acc = start.clone(), accWant = new float[want.length];
        DirectConv.backwardWeight(s, x, dy, acc, null, true, true);
        for (int i = 0; i < want.length; i++) accWant[i] = start[i] + want[i];
        assertWithinDotBound("dw accumulated", acc, accWant, abs, terms, start, 2);
    }

    static Stream<Arguments> forwardShapes() {
        int co = DirectForwardColumns.COLUMNS, rows = DirectForwardColumns.ROWS, l = Hardware.LANES;
        int t = Parallel.threads();
        // positions that are and are not multiples of the 6 rows; batches whose small images are
        // grouped (several per kernel run, the last group short) and batches of one image per group
        return Stream.of(Arguments.of(1, 3, 1, 1, co, 1), Arguments.of(3, 16, rows, rows - 2, co, 1),
                Arguments.of(2, 5, l - 1, l + 1, 2 * co, 1), Arguments.of(4, 32, 16, 16, 16 / co * co + co, 1),
                Arguments.of(2, 8, rows + 1, 2 * l + 3, 3 * co, 1), Arguments.of(6 * t + 1, 64, 7, 7, co, 1),
                Arguments.of(8 * t + 3, 6, 5, 5, 2 * co, 1),
                // stride 2: odd and even sizes, small images grouped
                Arguments.of(3, 16, 7, 9, co, 2), Arguments.of(6 * t + 1, 32, 14, 14, 2 * co, 2), Arguments.of(2, 3, 1, 2, co, 2));
    }

    @ParameterizedTest(name = "n={0} cin={1} {2}x{3} cout={4} stride={5}")
    @MethodSource("forwardShapes")
    void forwardMatchesTheReference(int n, int cin, int h, int w, int cout, int stride) {
        ConvShape s = ConvShape.of(n, cin, h, w, cout, 3, 3, stride, stride, 1, 1, 1, 1, 1);
        assertTrue(DirectForwardColumns.supports(s), s.toString());
        SplittableRandom r = new SplittableRandom(n * 17 + cin * 5 + h * 3 + w + stride);
        float[] x = random(r, n * cin * h * w), wt = random(r, cout * cin * 9);
        ReferenceForward ref = ReferenceForward.of(s, x, wt);
        float[] want = ref.want(), absSum = ref.absSum(), got = new float[want.length];
        java.util.Arrays.fill(got, Float.NaN); // every output element must be written
        DirectForwardColumns.forward(s, x, wt, null, got);
        assertWithinDotBound("forward", got, want, absSum, 9 * cin, null, 2);

        float[] scale = random(r, cout), shift = random(r, cout), res = random(r, want.length);
        float[] e1 = new float[want.length], e2 = new float[want.length], absE = new float[want.length];
        DirectForwardColumns.forward(s, x, wt, new Epilogue(scale, shift, res, true), e1);
        Conv.forwardIm2col(s, x, wt, new Epilogue(scale, shift, res, true), e2);
        for (int i = 0; i < absE.length; i++) absE[i] = absSum[i] * Math.abs(scale[(i / s.outPixels()) % cout]) + 1;
        assertWithinDotBound("epilogue", e1, e2, absE, 9 * cin, null, 2);
    }

    static Stream<Arguments> stridedDataShapes() {
        int co = DirectForwardColumns.COLUMNS, t = Parallel.threads();
        // even and odd sizes (the phases of odd rows and columns one shorter), 1-wide and 1-high
        // images (a phase with no position), several small images per group with a short last one
        return Stream.of(Arguments.of(1, co, 7, 9, 16), Arguments.of(3, co, 8, 8, 2 * co), Arguments.of(2, 2 * co, 1, 2, 8),
                Arguments.of(2, co, 2, 1, 5), Arguments.of(6 * t + 1, co, 14, 14, 64), Arguments.of(2, co, 28, 28, 16),
                Arguments.of(4 * t + 3, 2 * co, 5, 6, 3));
    }

    @ParameterizedTest(name = "n={0} cin={1} {2}x{3} cout={4}")
    @MethodSource("stridedDataShapes")
    void stridedBackwardDataMatchesTheReference(int n, int cin, int h, int w, int cout) {
        ConvShape s = ConvShape.of(n, cin, h, w, cout, 3, 3, 2, 2, 1, 1, 1, 1, 1);
        assertTrue(DirectDataColumns.supports(s), s.toString());
        SplittableRandom r = new SplittableRandom(n * 13 + cin * 5 + h * 3 + w + cout);
        float[] dy = random(r, n * cout * s.outPixels()), wt = random(r, cout * cin * 9);
        float[] want = new float[n * cin * h * w], abs = new float[want.length];
        ConvReference.backwardData(s, dy, wt, want);
        ConvReference.backwardData(s, abs(dy), abs(wt), abs);
        float[] got = new float[want.length];
        java.util.Arrays.fill(got, Float.NaN); // every element must be written
        DirectDataColumns.backwardData(s, dy, wt, got);
        assertWithinDotBound("dx", got, want, abs, 4 * cout, null, 2);
    }

    /** Small images share kernel runs, and a group's positions need not fill whole kernels. */
    @Test
    void groupsSmallImages() {
        int t = Parallel.threads();
        ConvShape s = ConvShape.of(6 * t + 1, 64, 7, 7, DirectForwardColumns.COLUMNS, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        int group = DirectForwardColumns.imagesPerGroup(s);
        assertTrue(group > 1, "images per group " + group);
        assertTrue(group * 49 % DirectForwardColumns.ROWS != 0 || s.n() % group != 0, "a short kernel or group is tested");
        assertTrue(DirectForwardColumns.imagesPerGroup(ConvShape.of(1, 64, 7, 7, DirectForwardColumns.COLUMNS, 3, 3, 1, 1, 1, 1, 1, 1, 1)) == 1);
    }

    /** A fixed order of sums: the same bits interpreted and compiled, and on one thread or two. */
    @Test
    void givesTheSameBitsOnEveryCallAndThreadCount() {
        int co = DirectWeightGradient.COLUMNS;
        ConvShape s = ConvShape.of(2 * DirectWeightGradient.IMAGES_PER_FLUSH + 1, 4, 6, 6, co, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        SplittableRandom r = new SplittableRandom(5);
        float[] x = random(r, s.n() * 4 * 36), dy = random(r, s.n() * co * 36), first = new float[co * 4 * 9];
        DirectConv.backwardWeight(s, x, dy, first, null, false, true);
        for (int call = 0; call < 2000; call++) {
            if (call == 1000) Parallel.setThreads(1);
            float[] dw = new float[first.length];
            DirectConv.backwardWeight(s, x, dy, dw, null, false, true);
            assertArrayEquals(first, dw, "call " + call);
        }
        Parallel.setThreads(2);
    }

    @Test
    void needsWholePanelsAndTapBlocks() {
        assertFalse(DirectDataColumns.supports(ConvShape.of(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)), "stride 1");
        if (DirectForwardColumns.COLUMNS > 8)
            assertFalse(DirectDataColumns.supports(ConvShape.of(1, 8, 8, 8, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1)), "part of a panel of input channels");
        if (DirectForwardColumns.COLUMNS > DirectConv.CO_BLOCK)
            assertFalse(DirectForwardColumns.supports(ConvShape.of(1, 4, 4, 4, DirectConv.CO_BLOCK, 3, 3, 1, 1, 1, 1, 1, 1, 1)), "part of a panel");
        int co = DirectWeightGradient.COLUMNS;
        ConvShape odd = ConvShape.of(1, 3, 4, 4, co, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        assertFalse(DirectWeightGradient.supports(odd), "27 taps are not whole blocks of 6");
        if (co > DirectConv.CO_BLOCK)
            assertFalse(DirectWeightGradient.supports(ConvShape.of(1, 4, 4, 4, DirectConv.CO_BLOCK, 3, 3, 1, 1, 1, 1, 1, 1, 1)), "part of a panel");
        assertThrows(IllegalArgumentException.class, () -> DirectConv.backwardWeight(odd, new float[48], new float[16 * co], new float[co * 27], null, false, true));
    }
}
