package org.resnet4j.detection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.resnet4j.tensor.Tensor;

/**
 * FCOS's anchor-to-box matching on a 64x64 batch (P3..P7 grids 8x8, 4x4, 2x2, 1x1, 1x1), at the
 * edge torchvision 0.14 gives it: of two boxes containing the P3 point (16, 16), the smaller area
 * wins through argmax of (1e8 - area) in float32, so areas 100 and 96 tie (both round to
 * 99999904) and the first box wins, while areas 100 and 84 do not and the smaller wins. The
 * loss's full behaviour against torchvision is in {@link FcosLossParityTest}.
 */
class FcosMatchingTest {
    private static final int[][] GRIDS = {{8, 8}, {4, 4}, {2, 2}, {1, 1}, {1, 1}};
    private static final int[] PER_LEVEL = {64, 16, 4, 1, 1};
    private static final int P3_16_16 = 2 * 8 + 2;

    private static int[] match(float... boxes) {
        Tensor anchors = AnchorGenerator.fcosDefault().anchors(64, 64, GRIDS);
        return FcosLoss.match(anchors, Tensor.of(boxes, boxes.length / 4, 4), PER_LEVEL, 1.5f);
    }

    private static void assertOnlyMatch(int[] matched, int anchor, int box) {
        for (int i = 0; i < matched.length; i++) assertEquals(i == anchor ? box : -1, matched[i], "anchor " + i);
    }

    @Test
    void areasWithinFloat32sSpacingAt1e8TieAndTheFirstBoxWins() {
        assertEquals((float) (1e8 - 100), (float) (1e8 - 96), "the premise: both round to one float32");
        assertOnlyMatch(match(10, 10, 20, 20, 10, 10, 22, 18), P3_16_16, 0);
    }

    @Test
    void otherwiseTheSmallerBoxWins() {
        assertOnlyMatch(match(10, 10, 20, 20, 10, 10, 22, 17), P3_16_16, 1);
        assertOnlyMatch(match(10, 10, 22, 17, 10, 10, 20, 20), P3_16_16, 0);
    }

    @Test
    void noBoxesNoMatches() {
        for (int m : FcosLoss.match(AnchorGenerator.fcosDefault().anchors(64, 64, GRIDS), Tensor.zeros(0, 4), PER_LEVEL, 1.5f)) {
            assertEquals(-1, m);
        }
    }
}
