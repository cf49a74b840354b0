package org.resnet4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Module;

class ParamGroupsTest {
    @Test
    void resnet20SplitsIntoDecayAndNoDecay() {
        Module m = Models.create("resnet20");
        List<ParamGroup> gs = ParamGroups.of(m, true);
        assertEquals(2, gs.size());
        ParamGroup decay = gs.get(0), noDecay = gs.get(1);
        assertEquals(ParamGroups.DECAY, decay.name());
        assertEquals(ParamGroups.NO_DECAY, noDecay.name());
        // 19 convolutions (stem + 9 blocks x 2; option A shortcuts have no weights) + fc.weight
        assertEquals(20, decay.params().size());
        // 19 batch norms x (gamma, beta) + fc.bias
        assertEquals(39, noDecay.params().size());
        assertEquals(269_722, decay.numel() + noDecay.numel());
        // BN channels: 16 (stem) + 6 x 16 + 6 x 32 + 6 x 64 = 688, two values each, + 10 fc biases
        assertEquals(2 * 688 + 10, noDecay.numel());
        assertTrue(decay.weightDecay().isEmpty(), "decay group inherits the optimizer's weight decay");
        assertEquals(0.0, noDecay.weightDecay().getAsDouble());
        assertTrue(noDecay.params().containsKey("layer3.2.bn2.bias") && noDecay.params().containsKey("fc.bias"));
        assertTrue(decay.params().containsKey("layer1.0.conv1.weight") && decay.params().containsKey("fc.weight"));
        assertEquals("conv1.weight", decay.params().keySet().iterator().next()); // state_dict order

        // the optimizer's weight decay reaches the decay group only
        SGD sgd = new SGD(gs, 0.1, 0.9, 5e-4);
        assertEquals(5e-4, decay.effectiveWeightDecay(sgd.weightDecay()));
        assertEquals(0.0, noDecay.effectiveWeightDecay(sgd.weightDecay()));
    }

    @Test
    void frozenParametersAreLeftOut() {
        Module m = Models.create("resnet20");
        m.freeze("conv1", "bn1");
        List<ParamGroup> gs = ParamGroups.of(m, true);
        assertEquals(19, gs.get(0).params().size());
        assertEquals(37, gs.get(1).params().size());
        assertFalse(gs.get(0).params().containsKey("conv1.weight"));

        List<ParamGroup> all = ParamGroups.of(m, false);
        assertEquals(1, all.size());
        assertEquals(ParamGroups.ALL, all.get(0).name());
        assertEquals(56, all.get(0).params().size());
    }
}
