package org.resnet4j;

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
 * The core's layering, checked on its sources: each package uses only the packages below it
 * (train -> models -> nn -> autograd -> kernels -> tensor; train also over detection and segmentation; each weight format on its own), no
 * circle among packages or among files, and javadoc on every public type.
 */
class ArchitectureTest {
    static final SourceGraph MAIN = new SourceGraph(Path.of("src/main/java"));

    /** What each package may use; anything else is a layering error. */
    static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("tensor", Set.of()),
            Map.entry("io", Set.of()),
            Map.entry("io.json", Set.of()),
            Map.entry("kernels", Set.of("tensor")),
            Map.entry("autograd", Set.of("kernels", "tensor")),
            Map.entry("autograd.ops", Set.of("autograd", "kernels", "tensor")),
            Map.entry("nn", Set.of("autograd", "autograd.ops", "kernels", "tensor")),
            Map.entry("models", Set.of("nn", "autograd", "autograd.ops", "kernels", "tensor")),
            Map.entry("segmentation", Set.of("models", "nn", "autograd", "autograd.ops", "data.dense", "tensor")),
            Map.entry("data", Set.of("kernels", "tensor")),
            Map.entry("data.dense", Set.of("data", "io.json", "tensor")),
            Map.entry("detection.ops", Set.of("autograd", "tensor")),
            Map.entry("detection", Set.of("detection.ops", "models", "nn", "autograd", "autograd.ops", "tensor")),
            Map.entry("metrics", Set.of()),
            Map.entry("io.safetensors", Set.of("io", "io.json", "tensor")),
            Map.entry("io.pth", Set.of("io", "tensor")),
            Map.entry("io.onnx", Set.of("io", "models", "segmentation", "nn", "autograd", "autograd.ops", "kernels", "tensor")),
            Map.entry("train", Set.of("data", "data.dense", "detection", "io", "io.json", "io.safetensors", "io.pth", "metrics", "models", "segmentation", "nn", "autograd",
                    "autograd.ops", "kernels", "tensor")));

    /**
     * The one deliberate mutual reference: a Variable knows the Node that made it (PyTorch's
     * grad_fn) and a Node knows its input and output Variables; both directions are the graph.
     */
    static final List<String> ALLOWED_FILE_CYCLE = List.of("autograd.Node", "autograd.Variable");

    @Test
    void everyPackageUsesOnlyTheLayersBelowIt() {
        List<String> errors = new ArrayList<>();
        MAIN.packageGraph().forEach((pkg, uses) -> {
            Set<String> ok = ALLOWED.get(pkg);
            if (ok == null) errors.add(pkg + ": a package the layering does not know (add it to ALLOWED)");
            else for (String u : uses) if (!ok.contains(u)) errors.add(pkg + " uses " + u);
        });
        assertTrue(errors.isEmpty(), String.join("\n", errors));
        assertEquals(List.of(), MAIN.packageCycles(), "circles among packages");
        assertEquals(List.of(), SourceGraph.components(ALLOWED_AS_GRAPH()), "the allowed graph itself has no circle");
    }

    private static Map<String, Set<String>> ALLOWED_AS_GRAPH() {
        return new java.util.TreeMap<>(ALLOWED);
    }

    /** Spark is resnet4j-spark's business: the core's users pull none of it. */
    @Test
    void theCoreNeverSeesSpark() {
        List<String> users = MAIN.sources().values().stream().filter(s -> s.code().contains("org.apache.spark"))
                .map(s -> s.pkg() + "." + s.type()).toList();
        assertEquals(List.of(), users);
    }

    @Test
    void noCircleAmongFiles() {
        List<List<String>> cycles = new ArrayList<>(MAIN.fileCycles());
        cycles.remove(ALLOWED_FILE_CYCLE);
        assertEquals(List.of(), cycles, "files that use each other, directly or through others");
    }

    @Test
    void eachWeightFormatHasOnePublicEntryPoint() {
        Map<String, String> entry = Map.of("io.safetensors", "SafeTensors", "io.pth", "Pth", "io.onnx", "Onnx");
        entry.forEach((pkg, type) -> {
            List<String> publicTypes = MAIN.sources().values().stream().filter(s -> s.pkg().equals(pkg))
                    .filter(s -> s.text().contains("\npublic ") && s.text().matches("(?s).*\\npublic (final |abstract )*(class|interface|record|enum) " + s.type() + "\\b.*"))
                    .map(SourceGraph.Source::type).toList();
            assertEquals(List.of(type), publicTypes, pkg + ": public types");
        });
    }

    @Test
    void everyPublicTypeHasJavadoc() {
        assertEquals(List.of(), MAIN.publicTypesWithoutJavadoc());
    }

    @Test
    void theCheckerSeesALayeringErrorAndACircle() {
        // the checker itself must be able to fail: a two-file circle and a reference across packages
        Map<String, Set<String>> g = new java.util.TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a")));
        assertEquals(List.of(List.of("a", "b", "c")), SourceGraph.components(g));
        assertTrue(MAIN.packageGraph().get("train").contains("models"), "train's use of models is seen");
        assertTrue(MAIN.fileCycles().contains(ALLOWED_FILE_CYCLE), "Node <-> Variable is seen");
    }
}
