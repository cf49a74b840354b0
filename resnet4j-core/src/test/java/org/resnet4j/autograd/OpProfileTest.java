package org.resnet4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.resnet4j.autograd.ops.Conv2dOp;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.autograd.ops.ReluOp;
import org.resnet4j.tensor.Tensor;

class OpProfileTest {
    private static Variable step(boolean inputNeedsGrad) {
        Variable x = new Variable(Tensor.randn(1, 2, 4, 5, 5), inputNeedsGrad);
        Variable w = Variable.leaf(Tensor.randn(2, 3, 4, 3, 3));
        Variable y = ReluOp.apply(Conv2dOp.apply(x, w, null, Conv2dOp.Params.of(1, 1, 1, 1)));
        Variable loss = LossOps.mse(y, Variable.constant(Tensor.zeros(y.shape())));
        loss.backward();
        return loss;
    }

    @Test
    void rowsPerLayerShapeWithTheirMultiplyAdds() {
        step(true); // nothing is recorded while profiling is off
        OpProfile.start();
        step(true);
        step(false);
        Map<String, OpProfile.Row> rows = OpProfile.stop().stream().collect(Collectors.toMap(OpProfile.Row::op, Function.identity()));
        long macs = 2L * 3 * 5 * 5 * 4 * 9; // n * cout * oh * ow * cin * kh * kw
        OpProfile.Row fwd = rows.get("conv3x3/s1 4->3 @5x5 fwd");
        assertEquals(2, fwd.calls(), rows.keySet().toString());
        assertEquals(2 * macs, fwd.macs());
        // backward-weight twice, backward-data only where the input wanted a gradient
        assertEquals(2 * macs, rows.get("conv3x3/s1 4->3 @5x5 bwd-weight").macs());
        assertEquals(1, rows.get("conv3x3/s1 4->3 @5x5 bwd-data").calls());
        assertEquals(macs, rows.get("conv3x3/s1 4->3 @5x5 bwd-data").macs());
        assertEquals(2, rows.get("ReluOp fwd").calls());
        assertEquals(2, rows.get("ReluOp bwd").calls());
        assertTrue(rows.containsKey("LossOps bwd"));
        assertTrue(fwd.nanos() > 0 && fwd.gflops() > 0);
        String table = OpProfile.format(List.copyOf(rows.values()), 2);
        assertTrue(table.contains("conv3x3/s1 4->3 @5x5 fwd") && table.contains("ms/iter"), table);
        assertEquals(0, OpProfile.now(), "stopped: ops are not timed");
    }
}
