package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.resnet4j.testing.SourceGraph;

/**
 * The command line's layering on top of the core: cli -> experiments -> report -> core, bench
 * beside them, and cli -> spark (resnet4j-spark, for train with the spark option) through one
 * class; no circle among its packages or files; javadoc on every public type.
 */
class CliArchitectureTest {
    static final SourceGraph MAIN = new SourceGraph(Path.of("src/main/java"));
    static final Set<String> CORE = Set.of("serve", "tensor", "kernels", "autograd", "autograd.ops", "nn", "models", "data", "train",
            "io", "io.json", "io.safetensors", "io.pth", "io.onnx", "segmentation", "detection", "detection.ops", "data.dense", "metrics");

    @Test
    void packagesUseOnlyTheLayersBelowThem() {
        Map<String, Set<String>> above = Map.of(
                "report", Set.of(),
                "bench", Set.of(),
                "experiments", Set.of("report"),
                // peers lives in src/bench (the ONNX Runtime comparison) and is loaded by name only when present;
                // spark is resnet4j-spark, reached from SparkTrain alone (Spark itself is provided)
                "cli", Set.of("report", "bench", "experiments", "peers", "spark"));
        List<String> errors = new ArrayList<>();
        MAIN.packageGraph().forEach((pkg, uses) -> {
            Set<String> ok = above.get(pkg);
            if (ok == null) errors.add(pkg + ": a package the layering does not know");
            else for (String u : uses) if (!CORE.contains(u) && !ok.contains(u)) errors.add(pkg + " uses " + u);
        });
        assertTrue(errors.isEmpty(), String.join("\n", errors));
        assertEquals(List.of(), MAIN.packageCycles());
    }

    /** Spark's types appear in SparkTrain only, which the train command loads after checking that Spark is there. */
    @Test
    void onlySparkTrainSeesSpark() {
        List<String> users = MAIN.sources().values().stream().filter(s -> s.code().contains("org.apache.spark"))
                .map(s -> s.pkg() + "." + s.type()).sorted().toList();
        assertEquals(List.of("cli.SparkTrain"), users);
        List<String> sparkModuleUsers = MAIN.sources().values().stream().filter(s -> s.code().contains("org.resnet4j.spark."))
                .map(s -> s.pkg() + "." + s.type()).sorted().toList();
        assertEquals(List.of("cli.SparkTrain"), sparkModuleUsers);
    }

    @Test
    void noCircleAmongFiles() {
        assertEquals(List.of(), MAIN.fileCycles());
    }

    @Test
    void everyPublicTypeHasJavadoc() {
        assertEquals(List.of(), MAIN.publicTypesWithoutJavadoc());
    }
}
