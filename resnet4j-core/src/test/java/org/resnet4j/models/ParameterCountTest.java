package org.resnet4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.resnet4j.nn.Module;

class ParameterCountTest {
    /** Shape-only build: counting needs no storage or initialization. */
    private static Module meta(String name) {
        Models.Entry e = Models.get(name);
        return e.createMeta(ModelConfig.defaults(e.defaultClasses()));
    }

    @Test
    void metaAndRealBuildsAgree() {
        assertEquals(Models.create("resnet50").parameterCount(), meta("resnet50").parameterCount());
        assertEquals(Models.create("resnet20").stateDict().keySet(), meta("resnet20").stateDict().keySet());
    }

    /** torchvision's counts (1000 classes), from its model docs and DESIGN's facts. */
    @ParameterizedTest
    @CsvSource({
        "resnet18, 11689512", "resnet34, 21797672", "resnet50, 25557032", "resnet101, 44549160",
        "resnet152, 60192808", "resnext50_32x4d, 25028904", "resnext101_32x8d, 88791336",
        "resnext101_64x4d, 83455272", "wide_resnet50_2, 68883240", "wide_resnet101_2, 126886696"})
    void torchvisionCounts(String name, long expected) {
        assertEquals(expected, meta(name).parameterCount(), name);
    }

    /** He et al. 2015, Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M, 19.4M (option A shortcuts add no parameters). */
    @ParameterizedTest
    @CsvSource({"resnet20, 0.27", "resnet32, 0.46", "resnet44, 0.66", "resnet56, 0.85", "resnet110, 1.7", "resnet1202, 19.4"})
    void cifarCountsMatchThePaper(String name, double millions) {
        long n = meta(name).parameterCount();
        double rounded = millions >= 1 ? Math.round(n / 1e5) / 10.0 : Math.round(n / 1e4) / 100.0;
        assertEquals(millions, rounded, name + " has " + n);
    }

    @Test
    void plainTwinsHaveTheSameParametersAsOptionAResNets() {
        for (int d : new int[] {20, 32, 44, 56, 110}) {
            assertEquals(meta("resnet" + d).parameterCount(), meta("plain" + d).parameterCount());
        }
    }

    @Test
    void optionBAddsProjections() {
        long a = Models.create("resnet20").parameterCount();
        long b = Models.create("resnet20", ModelConfig.defaults(10).withShortcut(ModelConfig.Shortcut.B)).parameterCount();
        // two projections: 16->32 and 32->64 1x1 convs, each with a BN (gamma, beta)
        assertEquals(a + 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64, b);
    }

    /** He et al. 2016, Table 3: pre-act ResNet-110 1.7M, ResNet-164 1.7M. */
    @Test
    void preactCifarCounts() {
        assertEquals(1.7, Math.round(Models.create("preact_resnet110").parameterCount() / 1e5) / 10.0);
        assertEquals(1.7, Math.round(Models.create("preact_resnet164").parameterCount() / 1e5) / 10.0);
    }

    @Test
    void classesAndInputChannelsChangeOnlyStemAndHead() {
        Module m = Models.create("resnet18", ModelConfig.defaults(10).withInChannels(1));
        long expected = 11689512L - 64 * 3 * 49 + 64 * 49 - (512 * 1000 + 1000) + (512 * 10 + 10);
        assertEquals(expected, m.parameterCount());
    }

    @Test
    void everyRegisteredModelBuilds() {
        for (var e : Models.all().values()) {
            if (e.defaultSize() == 224 && !e.name().equals("resnet18")) continue; // big ones: meta builds above
            assertTrue(e.create().parameterCount() > 0, e.name());
        }
    }
}
