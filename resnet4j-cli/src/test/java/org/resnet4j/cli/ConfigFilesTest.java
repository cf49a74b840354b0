package org.resnet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.train.TrainConfig;

/** YAML configs (the command line's) read as their JSON twins; unknown keys are named. */
class ConfigFilesTest {
    @TempDir
    Path dir;

    @Test
    void yamlReadsAsJsonDoesAndRefusesUnknownKeys() throws Exception {
        Path json = dir.resolve("c.json"), yaml = dir.resolve("c.yaml"), bad = dir.resolve("bad.yml"), list = dir.resolve("list.yaml");
        Files.writeString(json, "{\"model\": \"resnet56\", \"epochs\": 7, \"lr\": 0.05, \"weightDecay\": 0.0001, \"schedule\": \"step:3:0.1\", \"freeze\": [\"conv1\"]}");
        Files.writeString(yaml, "model: resnet56\nepochs: 7\nlr: 0.05\nweightDecay: 1.0e-4\nschedule: step:3:0.1\nfreeze: [conv1]\n");
        Files.writeString(bad, "model: resnet56\nlearningRate: 0.1\n");
        Files.writeString(list, "- model\n");
        TrainConfig a = ConfigFiles.read(json), b = ConfigFiles.read(yaml);
        assertEquals(7, b.epochs);
        assertEquals(1e-4, b.weightDecay);
        assertEquals(List.of("conv1"), b.freeze);
        assertEquals(a.toJson(), b.toJson());
        var e = assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(bad));
        assertTrue(e.getMessage().contains("learningRate") && e.getMessage().contains("bad.yml"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(list));
        assertTrue(e.getMessage().contains("list.yaml") && e.getMessage().contains("mapping"), e.getMessage());
    }
}
