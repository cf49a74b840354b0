package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.ops.IndexSelectOp;
import org.resnet4j.autograd.ops.PermuteOp;
import org.resnet4j.autograd.ops.ScaleOp;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.GradCheck;

/** PermuteOp, IndexSelectOp and ScaleOp: values by their definitions, gradients by finite differences. */
class ShapeOpsTest {
    @Test
    void permuteMovesEveryElementWhereTorchPutsIt() {
        Tensor x = Tensor.randn(3, 2, 3, 4, 5);
        int[] dims = {0, 2, 3, 1};
        Tensor y = PermuteOp.apply(Variable.constant(x), dims).value();
        assertArrayEquals(new int[] {2, 4, 5, 3}, y.shape());
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 4; c++)
                    for (int d = 0; d < 5; d++) assertEquals(x.get(a, b, c, d), y.get(a, c, d, b));
        Tensor z = Tensor.randn(4, 2, 3, 1, 2, 2);
        Tensor p = PermuteOp.apply(Variable.constant(z), 0, 3, 4, 1, 2).value(); // the FCOS head's
        assertEquals(z.get(1, 2, 0, 1, 1), p.get(1, 1, 1, 2, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> PermuteOp.apply(Variable.constant(x), 0, 1, 1, 2));
        assertTrue(e.getMessage().contains("[0, 1, 1, 2]"), e.getMessage());
        assertArrayEquals(new int[] {5, 2}, PermuteOp.apply(Variable.constant(Tensor.meta(2, 5)), 1, 0).shape());
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Variable x = Variable.leaf(Tensor.randn(5, 2, 3, 4, 5));
        GradCheck.of("permute", () -> PermuteOp.apply(x, 3, 1, 0, 2)).wrt("x", x).run();
        Variable r = Variable.leaf(Tensor.randn(6, 6, 4));
        GradCheck.of("index_select", () -> IndexSelectOp.apply(r, new int[] {4, 0, 4, 2})).wrt("x", r).run();
        GradCheck.of("scale", () -> ScaleOp.apply(r, 0.25f)).wrt("x", r).run();
    }

    @Test
    void indexSelectTakesRowsInOrderAndNamesBadIndices() {
        Tensor x = Tensor.randn(7, 5, 3);
        Tensor y = IndexSelectOp.apply(Variable.constant(x), new int[] {2, 2, 0}).value();
        assertArrayEquals(new int[] {3, 3}, y.shape());
        for (int j = 0; j < 3; j++) {
            assertEquals(x.get(2, j), y.get(0, j));
            assertEquals(x.get(2, j), y.get(1, j));
            assertEquals(x.get(0, j), y.get(2, j));
        }
        assertArrayEquals(new int[] {0, 3}, IndexSelectOp.apply(Variable.constant(x), new int[0]).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> IndexSelectOp.apply(Variable.constant(x), new int[] {5}));
        assertTrue(e.getMessage().contains("index 5") && e.getMessage().contains("[5, 3]"), e.getMessage());
    }
}
