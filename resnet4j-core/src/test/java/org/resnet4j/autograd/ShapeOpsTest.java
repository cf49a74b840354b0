package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.ops.PermuteOp;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.testing.GradCheck;

/** PermuteOp: values by its definition, gradients by finite differences. */
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
    }
}
