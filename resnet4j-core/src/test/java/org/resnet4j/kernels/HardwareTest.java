package org.resnet4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The one class that knows the hardware: its species follow the JVM's, and no kernel names a width of its own. */
class HardwareTest {
    @Test
    void speciesIsThePreferredOneAtMost512Bits() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        assertEquals(Math.min(512, preferred), Hardware.vectorBits());
        assertEquals(Hardware.vectorBits() / 32, Hardware.floatLanes());
        assertEquals(Hardware.FLOATS, Gemm.S);
        assertEquals(2 * Hardware.LANES, Gemm.panelWidth());
        assertEquals(Hardware.LANES, DirectConv.L);
        // the floats widened to one vector of doubles: as many lanes, half the bits
        assertEquals(Hardware.DOUBLES.vectorBitSize(), Hardware.vectorBits());
        if (Hardware.DOUBLES.length() >= 2) assertEquals(Hardware.DOUBLES.length(), Hardware.FLOATS_TO_WIDEN.length());
    }

    @Test
    void describesTheMachineForEveryFigure() {
        Map<String, Object> d = Hardware.describe();
        assertEquals(List.of("cpu", "cpu_flags", "vector_bits", "lanes", "vector_registers", "gemm_kernel", "direct_conv_block"), List.copyOf(d.keySet()));
        assertFalse(d.get("cpu").toString().isBlank());
        assertEquals(Hardware.vectorBits(), d.get("vector_bits"));
        assertEquals(Gemm.MR + "x" + Gemm.NR, d.get("gemm_kernel"));
    }

    /**
     * A fixed species wider than the JVM's preferred one has no native form and runs as the Vector
     * API's Java fallback (BatchNorm's DoubleVector.SPECIES_512 did, in every training step on
     * AVX2): only Hardware may name one.
     */
    @Test
    void noOtherSourceNamesAVectorWidth() throws IOException {
        Path main = Path.of("src/main/java");
        assertTrue(Files.isDirectory(main), "run from the module directory");
        try (Stream<Path> files = Files.walk(main)) {
            List<String> offenders = files.filter(p -> p.toString().endsWith(".java") && !p.endsWith("kernels/Hardware.java"))
                    .filter(p -> {
                        try {
                            return Files.readString(p).matches("(?s).*\\bSPECIES_(64|128|256|512|MAX|PREFERRED)\\b.*");
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).map(Path::toString).toList();
            assertEquals(List.of(), offenders);
        }
    }
}
