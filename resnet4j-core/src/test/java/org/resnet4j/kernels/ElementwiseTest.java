package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Copies and sums over the pool against their scalar loops, at sizes below, at and past a chunk, leaving the rest of the arrays alone. */
class ElementwiseTest extends KernelTestBase {
    @Test
    void copyAndAddMatchTheirScalarLoops() {
        SplittableRandom r = new SplittableRandom(3);
        int g = Elementwise.GRAIN;
        for (int n : new int[] {0, 1, g - 1, g, 2 * g, 7 * g + 5}) {
            float[] src = random(r, n + 3), dst = random(r, n + 3), want = dst.clone();
            System.arraycopy(src, 0, want, 0, n);
            Elementwise.copy(src, dst, n);
            assertArrayEquals(want, dst, "copy of " + n);

            float[] acc = random(r, n + 3), add = random(r, n + 3), sum = acc.clone();
            for (int i = 0; i < n; i++) sum[i] += add[i];
            Elementwise.addInto(acc, add, n);
            assertArrayEquals(sum, acc, "sum of " + n);
        }
    }
}
