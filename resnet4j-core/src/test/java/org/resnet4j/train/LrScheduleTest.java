package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    private static final double EPS = 1e-12;

    @Test
    void parsesEachKind() {
        assertEquals(new LrSchedule.Constant(0.1), LrSchedules.parse("constant", 0.1, 100, 10));
        assertEquals(new CosineAnnealing(0.1, 100, 0), LrSchedules.parse("cosine", 0.1, 100, 10));
        assertEquals(new CosineAnnealing(0.1, 100, 1e-3), LrSchedules.parse("Cosine:1e-3", 0.1, 100, 10));
        assertEquals(new StepLR(0.1, 300, 0.1), LrSchedules.parse("step:30:0.1", 0.1, 1000, 10));
        assertEquals(new MultiStepLR(0.1, new long[] {1000, 1500}, 0.2), LrSchedules.parse("multistep:100,150:0.2", 0.1, 2000, 10));
        assertEquals(new OneCycle(0.1, 100), LrSchedules.parse("onecycle", 0.1, 100, 10));
        assertEquals(new OneCycle(0.1, 100, 0.25, 25, 1e4), LrSchedules.parse("onecycle:0.25", 0.1, 100, 10));
        assertEquals(new Warmup(new CosineAnnealing(0.1, 95, 0), 5, 0.01), LrSchedules.parse("cosine+warmup:0.5:0.01", 0.1, 100, 10));
        Warmup w = assertInstanceOf(Warmup.class, LrSchedules.parse("cosine+warmup:1", 0.1, 100, 10));
        assertEquals(Warmup.DEFAULT_START_FACTOR, w.startFactor());
    }

    @Test
    void polyIsTorchvisionsSegmentationLambda() {
        // references/segmentation/train.py: LambdaLR(lambda x: (1 - x / iters) ** 0.9)
        assertEquals(new PolyLR(0.02, 100, 0.9), LrSchedules.parse("poly", 0.02, 100, 10));
        assertEquals(new PolyLR(0.02, 100, 2), LrSchedules.parse("poly:2", 0.02, 100, 10));
        LrSchedule p = LrSchedules.parse("poly", 0.02, 100, 10);
        assertEquals(0.02, p.lr(0), EPS);
        assertEquals(0.02 * Math.pow(0.5, 0.9), p.lr(50), EPS); // 0.010717...
        assertEquals(0.010717734625362931, p.lr(50), 1e-15);
        assertEquals(0.02 * Math.pow(0.01, 0.9), p.lr(99), EPS);
        assertEquals(0, p.lr(100), EPS);
        assertEquals(0, p.lr(1000), EPS);
        assertEquals(0.02 * 0.25, LrSchedules.parse("poly:2", 0.02, 100, 10).lr(50), EPS);
        // with a warm-up the poly decay covers the iterations after it: 10 + 90
        LrSchedule w = LrSchedules.parse("poly+warmup:1:0.1", 0.02, 100, 10);
        assertEquals(0.002, w.lr(0), EPS);
        assertEquals(0.02, w.lr(10), EPS);
        assertEquals(0.02 * Math.pow(1 - 45 / 90.0, 0.9), w.lr(55), EPS);
        assertThrows(IllegalArgumentException.class, () -> LrSchedules.parse("poly:0", 0.02, 100, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedules.parse("poly:1:2", 0.02, 100, 10));
    }

    @Test
    void warmupKeepsStepMilestonesAtAbsoluteEpochs() {
        // 5 iterations per epoch, warm-up 1 epoch; decays at epochs 3 and 7 = iterations 15 and 35
        LrSchedule m = LrSchedules.parse("multistep:3,7:0.1+warmup:1:0.5", 0.1, 50, 5);
        assertEquals(0.05, m.lr(0), EPS);
        assertEquals(0.1 * (0.5 + 0.5 * 4 / 5.0), m.lr(4), EPS);
        assertEquals(0.1, m.lr(5), EPS);
        assertEquals(0.1, m.lr(14), EPS);
        assertEquals(0.01, m.lr(15), EPS);
        assertEquals(0.001, m.lr(35), EPS);
        LrSchedule s = LrSchedules.parse("step:2:0.1+warmup:1", 0.1, 50, 5);
        assertEquals(0.1, s.lr(9), EPS);
        assertEquals(0.01, s.lr(10), EPS);
        assertEquals(0.001, s.lr(20), EPS);
    }

    @Test
    void endsAndEdges() {
        CosineAnnealing c = new CosineAnnealing(0.1, 10, 0.001);
        assertEquals(0.1, c.lr(0), EPS);
        assertEquals(0.0505, c.lr(5), EPS);
        assertEquals(0.001, c.lr(10), EPS);
        assertEquals(0.001, c.lr(1000), EPS); // stays at eta_min past the end
        OneCycle o = new OneCycle(0.1, 100);
        assertEquals(0.004, o.lr(0), EPS);
        assertEquals(0.1, o.lr(29), EPS); // end of the first phase: pct_start * total - 1
        assertEquals(4e-7, o.lr(99), 1e-15);
        assertEquals(4e-7, o.lr(500), 1e-15);
        assertEquals(new StepLR(1, 1, 0.5).lr(3), 0.125, EPS);
        assertEquals(0.3, new Warmup(new LrSchedule.Constant(0.3), 0, 0.1).lr(0), EPS); // no warm-up
        assertThrows(IllegalArgumentException.class, () -> c.lr(-1));
    }

    @Test
    void badSpecsNameTheProblem() {
        for (String spec : new String[] {"", "bogus", "step:30", "step:x:0.1", "multistep:1,a:0.1", "cosine:1:2",
            "cosine+warmup", "cosine+warmup:100", "cosine+cooldown:1", "step:0:0.1"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> LrSchedules.parse(spec, 0.1, 1000, 10), spec);
            assertTrue(e.getMessage().contains("lr schedule") || e.getMessage().contains("warm-up"), e.getMessage());
        }
    }
}
