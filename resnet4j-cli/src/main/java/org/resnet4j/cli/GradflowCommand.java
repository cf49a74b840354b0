package org.resnet4j.cli;

import org.resnet4j.io.json.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.resnet4j.data.Batch;
import org.resnet4j.data.DataLoader;
import org.resnet4j.experiments.GradientProbe;
import org.resnet4j.experiments.NoBnCifarNet;
import org.resnet4j.kernels.Parallel;
import org.resnet4j.models.ModelConfig;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Init;
import org.resnet4j.nn.Module;
import org.resnet4j.report.LinePlot;
import org.resnet4j.train.DataSources;
import org.resnet4j.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Gradient flow at initialization: one real batch through a freshly initialized model, and the
 * gradient norm of every conv/linear weight from input to output. It is the measurement behind
 * He et al. 2015, section 4.1: with BN the plain nets' gradients keep healthy norms, so their
 * higher training error is not a vanishing-gradient effect.
 */
@Command(name = "gradflow", mixinStandardHelpOptions = true,
        description = "Per-layer gradient norms of one batch at initialization: a table, gradflow.csv, "
                + "activations.csv and gradflow.png (log-scale gradient norm vs layer depth).")
public final class GradflowCommand implements Callable<Integer> {
    private static final Pattern CIFAR_NAME = Pattern.compile("(plain|resnet)(\\d+)");

    @Option(names = "--model", required = true, description = "Registered model name; with --no-bn a CIFAR depth: plain20, resnet56, ...")
    String model;

    @Option(names = "--no-bn", description = "The BN-free CIFAR net of that depth (Kaiming fan-in init, residual branches scaled by 1/sqrt(blocks)).")
    boolean noBn;

    @Option(names = "--data", defaultValue = "shapes", description = "shapes or fashion-mnist (default ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--batch", defaultValue = "64", description = "Images in the batch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the weights and of the batch drawn (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--lr", defaultValue = "0.1", description = "Learning rate of the update/weight ratio (default ${DEFAULT-VALUE}, the paper's).")
    double lr;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--out", description = "Output folder (default runs/gradflow-MODEL, or runs/gradflow-MODEL-nobn).")
    Path out;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        if (!data.equals("shapes") && !data.equals("fashion-mnist")) {
            throw new IllegalArgumentException("--data must be shapes or fashion-mnist, got '" + data + "'");
        }
        checkModel();
        if (threads != null) Parallel.setThreads(threads);
        TrainConfig c = new TrainConfig();
        c.data = data;
        c.seed = seed;
        c.batchSize = batch;
        DataSources.Source src = DataSources.open(c);
        Batch b = firstBatch(src, batch, seed);

        Init.manualSeed(seed);
        Module net = build(src.channels(), src.classes());
        GradientProbe.Result r = GradientProbe.probe(net, b.images(), b.labels(), lr);

        Path dir = out != null ? out : Path.of("runs", "gradflow-" + model + (noBn ? "-nobn" : ""));
        Path csv = dir.resolve("gradflow.csv"), actCsv = dir.resolve("activations.csv"), png = dir.resolve("gradflow.png");
        r.toCsv(csv);
        r.activationsToCsv(actCsv);
        plot(r, png);

        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", model);
            o.put("batch_norm", !noBn);
            o.put("data", data);
            o.put("batch", batch);
            o.put("seed", seed);
            o.put("lr", lr);
            o.put("loss", finite(r.loss()));
            List<Map<String, Object>> layers = new ArrayList<>();
            for (GradientProbe.LayerStats l : r.layers()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("depth", l.depth());
                m.put("name", l.name());
                m.put("type", l.type());
                m.put("weight_norm", finite(l.weightNorm()));
                m.put("grad_norm", finite(l.gradNorm()));
                m.put("grad_rms", finite(l.gradRms()));
                m.put("update_ratio", finite(l.updateRatio()));
                layers.add(m);
            }
            o.put("layers", layers);
            o.put("csv", csv.toString());
            o.put("activations_csv", actCsv.toString());
            o.put("png", png.toString());
            System.out.println(Json.write(o));
            return 0;
        }
        System.out.printf(Locale.ROOT, "%s%s on %s: one batch of %d at initialization (seed %d), loss %.4f%n",
                model, noBn ? " (no BN)" : "", data, batch, seed, r.loss());
        System.out.printf(Locale.ROOT, "%-28s %5s %12s %12s %14s%n", "layer", "depth", "||grad||", "||w||",
                "update/w @" + lr);
        for (GradientProbe.LayerStats l : r.layers()) {
            System.out.printf(Locale.ROOT, "%-28s %5d %12.4e %12.4e %14.4e%n", l.name(), l.depth(), l.gradNorm(), l.weightNorm(), l.updateRatio());
        }
        double first = r.layers().get(0).gradNorm(), last = r.layers().get(r.layers().size() - 1).gradNorm();
        System.out.printf(Locale.ROOT, "||grad|| first/last layer: %.3g%n", first / last);
        System.out.println("csv:  " + csv + ", " + actCsv);
        System.out.println("plot: " + png);
        return 0;
    }

    /** Fails on a bad model name before any data is read. */
    private void checkModel() {
        if (!noBn) {
            Models.get(model);
            return;
        }
        Matcher m = CIFAR_NAME.matcher(model);
        int depth = m.matches() && m.group(2).length() < 6 ? Integer.parseInt(m.group(2)) : -1;
        if (depth < 8 || (depth - 2) % 6 != 0) {
            throw new IllegalArgumentException("--no-bn needs a CIFAR net named plainD or resnetD with D = 6n+2 "
                    + "(20, 32, 44, 56, 110 ...), got '" + model + "'");
        }
    }

    /** The model: a registered one, or with --no-bn the BN-free CIFAR net its name describes. */
    private Module build(int channels, int classes) {
        if (!noBn) return Models.create(model, ModelConfig.defaults(classes).withInChannels(channels));
        Matcher m = CIFAR_NAME.matcher(model);
        if (!m.matches()) throw new IllegalStateException("checked by checkModel");
        return NoBnCifarNet.create(Integer.parseInt(m.group(2)), m.group(1).equals("plain"), channels, classes);
    }

    /**
     * The first batch of the seed's shuffled training order, with the test-time transform only
     * (normalization): the gradient at init should reflect the data, not one augmentation draw.
     */
    private static Batch firstBatch(DataSources.Source src, int batch, long seed) {
        if (batch > src.train().size()) {
            throw new IllegalArgumentException("--batch " + batch + " is larger than the training set (" + src.train().size() + ")");
        }
        try (DataLoader loader = new DataLoader(src.train(), src.testTransform(), batch, true, seed, 0, 0, true);
             DataLoader.Epoch epoch = loader.epoch(0)) {
            return epoch.next();
        }
    }

    private void plot(GradientProbe.Result r, Path png) throws java.io.IOException {
        // A log axis cannot show zero or non-finite norms: those layers are left out of the line.
        List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (GradientProbe.LayerStats l : r.layers()) {
            if (l.gradNorm() > 0 && Double.isFinite(l.gradNorm())) {
                xs.add((double) l.depth());
                ys.add(l.gradNorm());
            }
        }
        String label = model + (noBn ? " (no BN)" : "");
        new LinePlot("Gradient norm per layer at init: " + label + ", " + data + ", batch " + batch,
                "layer depth (conv/linear weights, input to output)", "||dL/dW|| (log scale)")
                .add(label, toArray(xs), toArray(ys), false)
                .logY(true)
                .savePng(png);
    }

    private static double[] toArray(List<Double> v) {
        double[] a = new double[v.size()];
        for (int i = 0; i < a.length; i++) a[i] = v.get(i);
        return a;
    }

    /** JSON has no Infinity or NaN: those become null. */
    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
