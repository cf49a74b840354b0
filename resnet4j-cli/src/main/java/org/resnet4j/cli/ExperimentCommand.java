package org.resnet4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.resnet4j.data.IdxDataset;
import org.resnet4j.experiments.DegradationExperiment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = {"experiment degradation: plain vs residual nets of several depths on one recipe (He et al. 2015,",
                "Fig. 6), training/test error curves, per-layer gradient norms, an HTML report in --out.",
                "The default budget (2 depths x 2 families, 6,400 images x 6 epochs, 2,000 test images) takes about 30 minutes on 2 cores.",
                "experiment report: the same report and figures from run folders already in --out (e.g. gradflow outputs",
                "renamed plain56, resnet56-nobn, ...: folders holding metrics.csv, iterations.csv or gradflow.csv)."})
final class ExperimentCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "degradation | report") String name;
    @Option(names = "--data", description = "fashion-mnist (default when installed), cifar10 (with --data-dir), or shapes.") String data;
    @Option(names = "--depths", split = ",", defaultValue = "20,56", description = "Depths, 6n+2 (default ${DEFAULT-VALUE}).") List<Integer> depths;
    @Option(names = "--epochs", defaultValue = "6") int epochs;
    @Option(names = "--families", split = ",", defaultValue = "plain,resnet", description = "Which nets: plain, resnet or both "
            + "(default ${DEFAULT-VALUE}; e.g. resnet alone for a longer run of the residual pair).") List<String> families;
    @Option(names = "--train-subset", defaultValue = "6400", description = "Training images used (0: all; default ${DEFAULT-VALUE}).") int trainSubset;
    @Option(names = "--test-subset", defaultValue = "2000", description = "Test images evaluated every epoch (0: all; default ${DEFAULT-VALUE}).") int testSubset;
    @Option(names = "--warmup-epochs", defaultValue = "1", description = "Epochs of linear lr warm-up from 0.01 to 0.1, for every net "
            + "(the paper warms its deepest nets up at 0.01; 0: none; default ${DEFAULT-VALUE}).") double warmupEpochs;
    @Option(names = "--resume", description = "Keep the nets already trained in --out, continue an interrupted one, train the rest.") boolean resume;
    @Option(names = "--no-bn", description = "Run the nets without batch norm instead.") boolean noBn;
    @Option(names = "--both-bn", description = "Run the nets with and without batch norm.") boolean bothBn;
    @Option(names = "--seed", defaultValue = "0") long seed;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--out", defaultValue = "runs/degradation") Path out;

    @Override
    public Integer call() throws Exception {
        if (name.equals("report")) {
            var r = org.resnet4j.experiments.DegradationReport.write(out, out);
            System.out.println("report: " + r.html());
            for (Path f : new Path[] {r.errorsPng(), r.gradnormsPng()}) if (f != null) System.out.println("figure: " + f);
            return 0;
        }
        if (!name.equals("degradation")) throw new IllegalArgumentException("unknown experiment '" + name + "': use degradation or report");
        String d = data;
        if (d == null) {
            try {
                IdxDataset.fashionMnist(false);
                d = "fashion-mnist";
            } catch (java.io.IOException e) {
                d = "shapes";
                System.out.println("Fashion-MNIST not found; using the built-in shapes (" + e.getMessage().lines().findFirst().orElse("") + ")");
            }
        }
        var plan = new DegradationExperiment.Plan(d, depths, epochs, trainSubset, testSubset, bothBn || !noBn, bothBn || noBn, seed,
                threads != null ? threads : Runtime.getRuntime().availableProcessors(), out, resume, warmupEpochs, families);
        DegradationExperiment.run(plan, System.out);
        return 0;
    }
}
