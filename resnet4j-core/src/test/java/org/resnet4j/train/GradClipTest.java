package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

class GradClipTest {
    private static Parameter withGrad(float... g) {
        Parameter p = new Parameter(Tensor.zeros(g.length));
        p.addGrad(Tensor.of(g, g.length));
        return p;
    }

    @Test
    void byNormScalesAllGradientsTogether() {
        Parameter a = withGrad(3), b = withGrad(0, 4), none = new Parameter(Tensor.zeros(2));
        assertEquals(5.0, GradClip.byNorm(List.of(a, b, none), 1.0), 1e-12);
        double coef = 1.0 / (5 + 1e-6);
        assertEquals(3 * coef, a.grad().data()[0], 1e-7);
        assertArrayEquals(new float[] {0, (float) (4 * coef)}, b.grad().data(), 1e-7f);
        assertEquals(null, none.grad());
        // under the limit: untouched
        Parameter c = withGrad(0.3f, 0.4f);
        assertEquals(0.5, GradClip.byNorm(List.of(c), 1.0), 1e-7);
        assertArrayEquals(new float[] {0.3f, 0.4f}, c.grad().data());
    }

    @Test
    void nonFiniteNormLeavesGradientsAlone() {
        Parameter a = withGrad(1, Float.NaN), b = withGrad(2);
        assertTrue(Double.isNaN(GradClip.byNorm(List.of(a, b), 1.0)));
        assertEquals(2f, b.grad().data()[0]);
        Parameter c = withGrad(Float.POSITIVE_INFINITY, 1);
        assertEquals(Double.POSITIVE_INFINITY, GradClip.byNorm(List.of(c), 1.0));
        assertEquals(1f, c.grad().data()[1]);
    }

    @Test
    void byValueClamps() {
        Parameter a = withGrad(-2, -0.5f, 0.5f, 2, Float.NaN);
        GradClip.byValue(List.of(a), 1);
        assertArrayEquals(new float[] {-1, -0.5f, 0.5f, 1, Float.NaN}, a.grad().data());
    }
}
