package org.resnet4j.cli;

import org.resnet4j.io.json.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.resnet4j.models.Models;
import org.resnet4j.models.Summary;
import org.resnet4j.nn.Module;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Layer table of a model (name, output shape, parameters) and totals.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--size", description = "Input height and width (default: the model's, 224 or 32).")
    Integer size;

    @Option(names = "--depth", defaultValue = "2", description = "Deepest module level to list (default ${DEFAULT-VALUE}: stages and blocks).")
    int depth;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Override
    public Integer call() {
        Models.Entry e = modelOptions.entry();
        var cfg = modelOptions.config(null, null);
        int s = size != null ? size : e.defaultSize();
        Module m = e.createMeta(cfg);
        Summary sum = Summary.of(m, 1, cfg.inChannels(), s, s);
        if (json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", e.name());
            out.put("input", sum.inputShape());
            out.put("output", sum.outputShape());
            out.put("params", sum.params());
            out.put("trainable_params", sum.trainableParams());
            out.put("macs", sum.macs());
            out.put("gflops", Math.round(sum.gflops() * 1000) / 1000.0);
            List<Map<String, Object>> layers = new ArrayList<>();
            for (Summary.Row r : sum.rows()) {
                if (r.depth() > depth) continue;
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("name", r.name());
                l.put("type", r.type());
                l.put("output", r.outputShape());
                l.put("params", r.params());
                layers.add(l);
            }
            out.put("layers", layers);
            System.out.println(Json.write(out));
            return 0;
        }
        System.out.printf("%s  input [1, %d, %d, %d]%n", e.name(), cfg.inChannels(), s, s);
        System.out.printf("%-32s %-18s %-20s %14s%n", "layer", "type", "output shape", "params");
        for (Summary.Row r : sum.rows()) {
            if (r.depth() > depth) continue;
            String indent = "  ".repeat(r.depth() - 1);
            System.out.printf("%-32s %-18s %-20s %,14d%n", indent + r.name(), r.type(),
                    java.util.Arrays.toString(r.outputShape()), r.params());
        }
        System.out.printf("total params: %,d (trainable %,d, %.1f MiB as float32)%n", sum.params(), sum.trainableParams(),
                sum.params() * 4 / 1048576.0);
        System.out.printf("forward: %.2f GFLOPs (%,d multiply-accumulates) per image%n", sum.gflops(), sum.macs());
        return 0;
    }
}
