package org.resnet4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.resnet4j.train.TrainConfig;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Training configs as files: JSON through the core library, YAML (a superset people prefer to
 * write by hand) through SnakeYAML's safe loader, which builds only maps, lists and scalars.
 */
final class ConfigFiles {
    private ConfigFiles() {}

    /** Reads a .json, .yaml or .yml file; unknown keys are an error naming the key and the file. */
    static TrainConfig read(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".yaml") && !name.endsWith(".yml")) return TrainConfig.read(file);
        Object tree;
        try {
            tree = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage());
        }
        if (!(tree instanceof Map<?, ?> m)) throw new IllegalArgumentException(file + ": the config must be a mapping of keys to values");
        @SuppressWarnings("unchecked") Map<String, ?> map = (Map<String, ?>) m;
        return TrainConfig.fromMap(map, file.toString());
    }
}
