package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Gemm#gemm} against the double-accumulating {@link GemmReference}, on ragged shapes with
 * offsets and padded leading dimensions.
 *
 * <p>Tolerance, per element: 2u (sqrt(k) S + |c0| + |ref|), u = 2^-24, S = sum_kk |a_ik b_kj|.
 * A float32 dot product of length k has worst-case error k u S (Higham, Thm 3.1); treating the
 * rounding errors as independent gives the usual sqrt(k) u S, which the factor 2 covers with
 * margin. |c0| and |ref| account for the one extra rounding of the accumulate-into-C add and of
 * the result itself. Any indexing, packing or blocking bug drops or duplicates whole products,
 * errors of order |a_ik b_kj| ~ 0.1..1, far above this bound (~1e-4 at k = 300).
 */
class GemmTest {
    private static final double U = Math.pow(2, -24);
    private static final int A_OFF = 3, B_OFF = 5, C_OFF = 7;

    /**
     * (m, n, k): m with every remainder class of the 8-row micro-kernel that has its own path
     * (1-2 leftover rows: one-row kernel; 3-7: scratch tile), n not a multiple of the 32-column
     * panel, k across the 256-deep KC block, and both ways of splitting the work over threads.
     */
    static final int[][] SHAPES = {
        {1, 1, 1}, {3, 7, 13}, {7, 13, 31}, {13, 31, 7}, {4, 16, 256}, {64, 64, 64},
        {31, 65, 257}, {65, 17, 300}, {257, 13, 65}, {1, 300, 257}, {257, 1, 300}, {65, 300, 257},
        {13, 257, 3}, {5, 33, 513}, {300, 7, 1}, {66, 70, 260}, {10, 33, 40}, {42, 64, 9},
    };

    /**
     * Shapes on this machine's kernel boundaries, derived from {@link Gemm}'s own constants (panel
     * width NR = two vectors, MR rows, the KC depth block, the A-packing threshold), so that each
     * edge is reached at whatever vector width the JVM runs: partial panels one column short and
     * one over, every leftover row count, non-transposed A long enough to be packed, and a
     * single panel shared by rows over the workers.
     */
    static int[][] shapesAtThisWidth() {
        int nr = Gemm.NR, mr = Gemm.MR, kc = Gemm.KC, t = Parallel.threads();
        return new int[][] {
            {mr, nr, kc}, {mr + 1, nr - 1, kc + 1}, {2 * mr - 1, nr + 1, 5}, {mr + mr / 2, 3 * nr + 1, 2 * kc + 3},
            {3 * mr + 2, Gemm.PACK_A_MIN_COLUMNS + nr / 2, 40}, {4 * mr * t + 3, nr - 2, 17}, {mr - 1, 2 * nr * t + 1, 9},
        };
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>(List.of(SHAPES));
        shapes.addAll(List.of(shapesAtThisWidth()));
        for (int[] s : shapes)
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true})
                    for (boolean acc : new boolean[] {false, true}) out.add(Arguments.of(s[0], s[1], s[2], ta, tb, acc));
        return out.stream();
    }

    /** One problem: operands laid out with offsets and padded leading dimensions, padding filled with junk. */
    record Problem(int m, int n, int k, boolean ta, boolean tb, float[] a, int lda, float[] b, int ldb, float[] c, int ldc) {
        static Problem random(int m, int n, int k, boolean ta, boolean tb, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
            float[] a = junk(r, A_OFF + (ta ? k : m) * lda + 4);
            float[] b = junk(r, B_OFF + (tb ? n : k) * ldb + 4);
            float[] c = junk(r, C_OFF + m * ldc + 4);
            return new Problem(m, n, k, ta, tb, a, lda, b, ldb, c, ldc);
        }

        float a(int i, int kk) {
            return ta ? a[A_OFF + kk * lda + i] : a[A_OFF + i * lda + kk];
        }

        float b(int kk, int j) {
            return tb ? b[B_OFF + j * ldb + kk] : b[B_OFF + kk * ldb + j];
        }

        float[] runGemm(boolean acc) {
            float[] out = c.clone();
            Gemm.gemm(ta, tb, m, n, k, a, A_OFF, lda, b, B_OFF, ldb, out, C_OFF, ldc, acc);
            return out;
        }

        float[] runReference(boolean acc) {
            float[] out = c.clone();
            GemmReference.gemm(ta, tb, m, n, k, a, A_OFF, lda, b, B_OFF, ldb, out, C_OFF, ldc, acc);
            return out;
        }
    }

    private static float[] junk(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (2 * r.nextDouble() - 1);
        return v;
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4} acc={5}")
    @MethodSource("cases")
    void matchesReference(int m, int n, int k, boolean ta, boolean tb, boolean acc) {
        Problem p = Problem.random(m, n, k, ta, tb, 31L * m + 17L * n + k + (ta ? 1000 : 0) + (tb ? 2000 : 0));
        float[] got = p.runGemm(acc), want = p.runReference(acc);
        assertClose(p, acc, got, want);
    }

    static void assertClose(Problem p, boolean acc, float[] got, float[] want) {
        int bad = 0;
        StringBuilder msg = new StringBuilder();
        for (int idx = 0; idx < got.length; idx++) {
            int rel = idx - C_OFF, i = Math.floorDiv(rel, p.ldc), j = rel - i * p.ldc;
            boolean inside = rel >= 0 && i < p.m && j < p.n;
            if (!inside) {
                // nothing outside the logical m x n block (offset, row padding, tail) may be written
                if (Float.floatToRawIntBits(got[idx]) != Float.floatToRawIntBits(p.c[idx])) {
                    fail("Gemm wrote outside C at array index " + idx + " (row " + i + ", col " + j + ")");
                }
                continue;
            }
            double s = 0;
            for (int kk = 0; kk < p.k; kk++) s += Math.abs((double) p.a(i, kk) * p.b(kk, j));
            double c0 = acc ? Math.abs(p.c[idx]) : 0;
            double tol = 2 * U * (Math.sqrt(p.k) * s + c0 + Math.abs(want[idx]));
            double err = Math.abs((double) got[idx] - want[idx]);
            if (!(err <= tol)) {
                if (bad++ < 5) msg.append(String.format("%n  C[%d,%d] = %s, reference %s, |err| %.3g > tol %.3g", i, j, got[idx], want[idx], err, tol));
            }
        }
        if (bad > 0) fail(bad + " elements out of tolerance:" + msg);
    }

    @Test
    void zeroDepthClearsOrKeepsC() {
        Problem p = Problem.random(5, 19, 0, false, false, 1);
        float[] cleared = p.runGemm(false);
        float[] kept = p.runGemm(true);
        assertArrayEquals(p.runReference(false), cleared);
        assertArrayEquals(p.c, kept, "k = 0 with accumulate leaves C as it was");
        for (int i = 0; i < 5; i++) for (int j = 0; j < 19; j++) assertEquals(0f, cleared[C_OFF + i * p.ldc + j]);
    }

    @Test
    void emptyOutputTouchesNothing() {
        Problem p = Problem.random(3, 5, 7, false, false, 2);
        float[] c = p.c.clone();
        Gemm.gemm(false, false, 0, 5, 7, p.a, A_OFF, p.lda, p.b, B_OFF, p.ldb, c, C_OFF, p.ldc, false);
        Gemm.gemm(false, false, 3, 0, 7, p.a, A_OFF, p.lda, p.b, B_OFF, p.ldb, c, C_OFF, p.ldc, false);
        assertArrayEquals(p.c, c);
    }

    /** Integer-valued operands: every partial sum is exact in float, so Gemm must equal the reference bit for bit. */
    @Test
    void exactOnSmallIntegers() {
        SplittableRandom r = new SplittableRandom(3);
        for (int[] s : SHAPES) {
            for (boolean ta : new boolean[] {false, true}) {
                Problem p = Problem.random(s[0], s[1], s[2], ta, !ta, 4);
                for (float[] arr : new float[][] {p.a, p.b, p.c}) for (int i = 0; i < arr.length; i++) arr[i] = r.nextInt(-3, 4);
                // |sum| <= 9 * 513 + 3 < 2^24: exact in float whatever the summation order
                assertArrayEquals(p.runReference(true), p.runGemm(true), 0f, java.util.Arrays.toString(s) + " transA=" + ta);
            }
        }
    }

    /**
     * The split across workers must not change any result: each element of C is accumulated by
     * one worker in the same order however the rows or column panels are divided.
     * (300 x 257: column-panel split; 257 x 31: row split with two threads, panel split with one.)
     */
    @Test
    void oneThreadAndTwoThreadsGiveIdenticalResults() {
        int original = Parallel.threads();
        try {
            int[][] shapes = {{300, 257, 300}, {257, 31, 65}, {13, 300, 257}};
            for (int[] s : shapes) {
                for (boolean ta : new boolean[] {false, true}) {
                    for (boolean tb : new boolean[] {false, true}) {
                        Problem p = Problem.random(s[0], s[1], s[2], ta, tb, 5);
                        Parallel.setThreads(1);
                        float[] one = p.runGemm(true);
                        Parallel.setThreads(2);
                        assertEquals(2, Parallel.threads());
                        float[] two = p.runGemm(true);
                        String where = java.util.Arrays.toString(s) + " transA=" + ta + " transB=" + tb;
                        assertArrayEquals(one, two, 0f, where);
                        assertClose(p, true, two, p.runReference(true));
                    }
                }
            }
        } finally {
            Parallel.setThreads(original);
        }
        assertEquals(original, Parallel.threads());
        assertTrue(original >= 1);
    }
}
