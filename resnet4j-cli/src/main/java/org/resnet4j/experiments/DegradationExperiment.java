package org.resnet4j.experiments;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.Example;
import org.resnet4j.models.CifarResNet;
import org.resnet4j.nn.Module;
import org.resnet4j.report.Progress;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.DataSources;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.report.CurvePlots;
import org.resnet4j.train.Trainer;

/**
 * The degradation experiment of He et al. 2015 (section 4.2, Fig. 6): plain and residual CIFAR
 * nets of several depths trained with one recipe, recording the training error of every batch
 * and the test error of every epoch, and the per-layer gradient norms at initialization and
 * after each epoch (section 4.1's check that plain nets' gradients do not vanish under BN).
 *
 * <p>The recipe is the paper's CIFAR one scaled to the budget: SGD with momentum 0.9, weight
 * decay 1e-4, batch 128, learning rate 0.1 divided by 10 at 50% and 75% of training (the paper's
 * 32k and 48k of 64k iterations), random crop and horizontal flip. The paper warms its 110-layer
 * nets up at lr 0.01 "until the training error is below 80% (about 400 iterations)" because 0.1
 * is "slightly too large to start converging"; at this budget the 56-layer nets need it too, so
 * every net (same recipe for all) ramps linearly from 0.01 to 0.1 over the first
 * {@code warmupEpochs} (default 1). Each run goes to
 * {@code OUT/<family><depth>[-nobn]/} and the report ({@link DegradationReport}) to {@code OUT}.
 */
public final class DegradationExperiment {
    /** What to run. */
    public record Plan(String data, List<Integer> depths, int epochs, int trainSubset, int testSubset, boolean withBn,
                       boolean withoutBn, long seed, int threads, Path out, boolean resume, double warmupEpochs, List<String> families) {
        public Plan {
            if (families.isEmpty() || !List.of("plain", "resnet").containsAll(families)) {
                throw new IllegalArgumentException("families must be plain and/or resnet, got " + families);
            }
            if (!(warmupEpochs >= 0 && warmupEpochs < epochs)) throw new IllegalArgumentException("warm-up of " + warmupEpochs
                    + " epochs must be >= 0 and shorter than the run (" + epochs + " epochs)");
            if (depths.isEmpty()) throw new IllegalArgumentException("no depths given");
            for (int d : depths) if (d < 8 || (d - 2) % 6 != 0) throw new IllegalArgumentException("depth " + d + " is not 6n+2");
            if (!withBn && !withoutBn) throw new IllegalArgumentException("nothing to run: neither with nor without batch norm");
            if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1");
        }
    }

    private DegradationExperiment() {}

    public static DegradationReport.Output run(Plan p, PrintStream out) throws IOException {
        Files.createDirectories(p.out());
        List<String> runs = new ArrayList<>();
        for (boolean bn : new boolean[] {true, false}) {
            if ((bn && !p.withBn()) || (!bn && !p.withoutBn())) continue;
            for (int depth : p.depths()) {
                for (boolean plain : new boolean[] {true, false}) {
                    if (!p.families().contains(plain ? "plain" : "resnet")) continue;
                    String name = (plain ? "plain" : "resnet") + depth + (bn ? "" : "-nobn");
                    runs.add(name);
                    out.printf(Locale.ROOT, "%n== %s (%d of %d) ==%n", name, runs.size(),
                            p.depths().size() * p.families().size() * ((p.withBn() ? 1 : 0) + (p.withoutBn() ? 1 : 0)));
                    long t0 = System.nanoTime();
                    Trainer.Result r = train(p, name, depth, plain, bn, out);
                    out.printf(Locale.ROOT, "%s: final test error %.2f%%, %s%n", name, 100 * (1 - r.test().top1()),
                            Progress.clock((System.nanoTime() - t0) / 1e9));
                }
            }
        }
        DegradationReport.Output report = DegradationReport.write(p.out(), p.out());
        out.println("\nreport: " + report.html());
        return report;
    }

    private static Trainer.Result train(Plan p, String name, int depth, boolean plain, boolean bn, PrintStream out) throws IOException {
        TrainConfig c = new TrainConfig();
        c.model = name; // a label: the nets come from the factory below, not the registry
        c.data = p.data();
        c.epochs = p.epochs();
        c.trainSubset = p.trainSubset();
        c.testSubset = p.testSubset();
        c.resume = p.resume(); // a finished net is not trained again, an interrupted one continues
        c.batchSize = 128;
        c.lr = 0.1;
        c.momentum = 0.9;
        c.weightDecay = 1e-4;
        // the paper's decays at 32k and 48k of 64k iterations: 50% and 75% (fractional epochs)
        c.schedule = String.format(Locale.ROOT, "multistep:%s,%s:0.1", p.epochs() * 0.5, p.epochs() * 0.75)
                + (p.warmupEpochs() > 0 ? String.format(Locale.ROOT, "+warmup:%s:0.1", p.warmupEpochs()) : "");
        c.seed = p.seed();
        c.threads = p.threads();
        c.runsDir = p.out().toString();
        c.name = name;
        c.keepLast = 1;
        c.logIterations = true;
        Path probes = p.out().resolve(name).resolve("probes");
        Trainer t = CurvePlots.reportingTrainer(c, out).onEpoch((epoch, model, src) -> probe(model, src, probes, epoch, name, p.out()));
        // any 6n+2 depth, not only the registered ones
        t.withModel(bn ? mc -> new CifarResNet(depth, plain, mc) : mc -> NoBnCifarNet.create(depth, plain, mc.inChannels(), mc.numClasses()));
        try {
            return t.fit();
        } catch (IllegalArgumentException e) {
            if (!p.resume() || !e.getMessage().contains("was written with")) throw e;
            throw new IllegalArgumentException("--resume: " + p.out().resolve(name) + " holds a run of another recipe: " + e.getMessage()
                    .replaceAll("; resume with the same settings.*", "") + ". Resume with the same --epochs, --train-subset, "
                    + "--test-subset and --seed, or give another --out.");
        }
    }

    /**
     * Gradient norms on one fixed batch (the first 64 training images, test-time preprocessing):
     * probes/epoch-N.csv every epoch, and the run's gradflow.csv (the report's figure) at init.
     */
    private static void probe(Module model, DataSources.Source src, Path dir, int epoch, String name, Path out) throws IOException {
        Dataset train = src.train();
        int n = Math.min(64, train.size());
        Tensor first = src.testTransform().apply(train.get(0).image(), null);
        Tensor batch = Tensor.zeros(n, first.dim(0), first.dim(1), first.dim(2));
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            Example e = train.get(i);
            Tensor x = src.testTransform().apply(e.image(), null);
            System.arraycopy(x.data(), 0, batch.data(), i * x.size(), x.size());
            labels[i] = e.label();
        }
        GradientProbe.Result r = GradientProbe.probe(model, batch, labels, 0.1);
        Files.createDirectories(dir);
        r.toCsv(dir.resolve(String.format(Locale.ROOT, "epoch-%03d.csv", epoch)));
        if (epoch == 0) {
            r.toCsv(out.resolve(name).resolve("gradflow.csv"));
            r.activationsToCsv(out.resolve(name).resolve("activations.csv"));
        }
    }
}
