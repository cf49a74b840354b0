package org.resnet4j.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one place that knows the hardware: the vector species every kernel uses, and the CPU the
 * figures are measured on. The species is the JVM's preferred one (what the CPU and flags such
 * as {@code -XX:UseAVX=2} or {@code -XX:MaxVectorSize=16} allow), at most 512 bits: 16 float
 * lanes with AVX-512, 8 with AVX2, 4 with SSE or ARM's NEON. A species wider than the preferred
 * one has no native form and runs as the Vector API's Java fallback, tens of times slower, so no
 * kernel may name a fixed width. The kernels' register blocking (the GEMM micro-kernel's tile,
 * the direct convolution's output blocks) is decided here from the lane count.
 */
public final class Hardware {
    private Hardware() {}

    /** Float lanes of the widest vectors the kernels use: the preferred species, capped at 512 bits. */
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED.vectorBitSize() > 512
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    /** Lanes of {@link #FLOATS}. */
    static final int LANES = FLOATS.length();
    /** Doubles in a vector as wide as {@link #FLOATS}: the accumulators of sums kept in double. */
    static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED.vectorBitSize() > 512
            ? DoubleVector.SPECIES_512 : DoubleVector.SPECIES_PREFERRED;
    /** Floats that widen into one {@link #DOUBLES} vector (half its bits). */
    static final VectorSpecies<Float> FLOATS_TO_WIDEN = VectorSpecies.of(float.class, VectorShape.forBitSize(Math.max(64, DOUBLES.vectorBitSize() / 2)));

    /**
     * Vector registers the JIT allocates: 32 on ARM (NEON, SVE) and on x86 when it emits AVX-512
     * encodings (UseAVX=3, which also gives 128- and 256-bit code registers 16-31), else 16.
     */
    static final int VECTOR_REGISTERS = vectorRegisters();

    /**
     * The GEMM micro-kernel's tile: rows of A x columns of B (two vectors), whose 2 x rows
     * accumulators, two panel vectors and a broadcast must fit the registers: 8 rows (19 live
     * vectors) with 32 registers, 6 (15) with 16, as BLIS's Haswell kernel (see {@link GemmKernels}).
     */
    static final int GEMM_ROWS = VECTOR_REGISTERS >= 32 ? 8 : 6, GEMM_COLUMNS = 2 * LANES;
    /** The direct convolution's forward block: output channels x positions (two vectors), see {@link DirectConv}. */
    static final int DIRECT_CHANNELS = 8, DIRECT_POSITIONS = (VECTOR_REGISTERS >= 32 ? 2 : 1) * LANES;

    /** Bits of the vectors the kernels use (512, 256 or 128). */
    public static int vectorBits() {
        return FLOATS.vectorBitSize();
    }

    /** Float lanes per vector. */
    public static int floatLanes() {
        return LANES;
    }

    /** The species the kernels use, for code outside this package that vectorizes a loop of its own. */
    public static VectorSpecies<Float> floatSpecies() {
        return FLOATS;
    }

    /**
     * The CPU's model name ({@code /proc/cpuinfo}) with its family and model numbers, which tell
     * generations apart where a virtual machine reports only "AMD EPYC" (family 25: Zen 3 and 4,
     * 26: Zen 5); the architecture where it cannot be read.
     */
    public static String cpuModel() {
        String model = cpuinfoField("model name");
        if (model == null) model = cpuinfoField("Model");  // ARM boards
        if (model == null) return System.getProperty("os.arch");
        String family = cpuinfoField("cpu family"), number = cpuinfoField("model");
        model = model.replaceAll("\\s+", " ").trim();
        return family == null || number == null ? model : model + " (family " + family + " model " + number + ")";
    }

    /**
     * The vector instruction sets the CPU reports (avx512f, avx2, fma on x86; asimd, sve on ARM),
     * which may be more than the JVM uses: {@link #vectorBits()} says what it does use.
     */
    public static List<String> cpuVectorFlags() {
        String flags = cpuinfoField("flags");
        if (flags == null) flags = cpuinfoField("Features");
        if (flags == null) return List.of();
        List<String> present = List.of(flags.trim().split("\\s+"));
        return List.of("avx512f", "avx2", "fma", "asimd", "sve").stream().filter(present::contains).toList();
    }

    /**
     * What every benchmark figure is measured on: the CPU, the vector width the JVM runs, and the
     * kernel shapes chosen for it (GEMM micro-kernel rows x columns, direct convolution output
     * channels x positions per block).
     */
    public static Map<String, Object> describe() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("cpu", cpuModel());
        d.put("cpu_flags", String.join(" ", cpuVectorFlags()));
        d.put("vector_bits", vectorBits());
        d.put("lanes", LANES);
        d.put("vector_registers", VECTOR_REGISTERS);
        d.put("gemm_kernel", GEMM_ROWS + "x" + GEMM_COLUMNS);
        d.put("direct_conv_block", DIRECT_CHANNELS + "x" + DIRECT_POSITIONS);
        return d;
    }

    private static int vectorRegisters() {
        String arch = System.getProperty("os.arch", "");
        if (arch.equals("aarch64")) return 32;
        try {
            var vm = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return Integer.parseInt(vm.getVMOption("UseAVX").getValue()) >= 3 ? 32 : 16;
        } catch (RuntimeException | LinkageError e) {
            return FLOATS.vectorBitSize() >= 512 ? 32 : 16;  // not HotSpot on x86: the widest species tells
        }
    }

    private static String cpuinfoField(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals(name)) return line.substring(colon + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: no cpuinfo
        }
        return null;
    }
}
