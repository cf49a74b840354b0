package org.resnet4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.Example;
import org.resnet4j.data.IdxDataset;
import org.resnet4j.report.PredictionGrid;
import org.resnet4j.report.Progress;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Evaluation;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.report.CurvePlots;
import org.resnet4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The main job: train a small ResNet on generated shapes (about two minutes on 2 cores), "
                + "print test accuracy, write curves and labelled predictions.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--epochs", description = "Epochs (default ${DEFAULT-VALUE}).", defaultValue = "4") int epochs;
    @Option(names = "--model", description = "Model (default ${DEFAULT-VALUE}).", defaultValue = "resnet8") String model;
    @Option(names = "--threads", description = "Compute threads (default: all cores).") Integer threads;
    @Option(names = "--runs-dir", defaultValue = "runs") String runsDir;

    @Override
    public Integer call() throws Exception {
        TrainConfig c = new TrainConfig();
        c.model = model;
        c.data = "shapes";
        c.epochs = epochs;
        c.batchSize = 64;
        c.lr = 0.1;
        c.warmupEpochs = 0.5;
        c.shapesTrain = 8000;
        c.shapesTest = 2000;
        c.name = "demo";
        c.runsDir = runsDir;
        c.keepLast = 1;
        if (threads != null) c.threads = threads;
        System.out.printf(Locale.ROOT, "resnet4j demo: training %s on %d generated 32x32 images of 6 shapes "
                + "(circle, square, triangle, cross, ring, star), %d epochs.%n", c.model, c.shapesTrain, c.epochs);
        Trainer.Result r = CurvePlots.reportingTrainer(c, System.out).fit();
        Path grid = r.runDir().resolve("predictions.png");
        writePredictions(r, grid);
        System.out.printf(Locale.ROOT, "%ntest accuracy: %.2f%% on %d held-out images (%s of training, %.0f img/s)%n",
                100 * r.test().top1(), r.test().examples(), Progress.clock(r.seconds()), r.imagesPerSecond());
        System.out.println("curves:      " + r.runDir().resolve("loss.png") + ", " + r.runDir().resolve("accuracy.png"));
        System.out.println("predictions: " + grid);
        System.out.println("metrics:     " + r.runDir().resolve("metrics.csv"));
        System.out.println("checkpoint:  " + r.runDir().resolve("checkpoints/best.safetensors"));
        if (fashionMnistInstalled()) {
            System.out.println("\nFashion-MNIST is installed; train a ResNet-20 on it with:\n"
                    + "  ./resnet4j train --model resnet20 --data fashion-mnist --epochs 30");
        } else {
            System.out.println("\nFor real data: apt-get install dataset-fashion-mnist, then\n"
                    + "  ./resnet4j train --model resnet20 --data fashion-mnist --epochs 30");
        }
        return 0;
    }

    /** 24 test images with their predicted labels. */
    private static void writePredictions(Trainer.Result r, Path file) throws Exception {
        Dataset test = r.source().test();
        List<Tensor> raw = new ArrayList<>();
        int n = Math.min(24, test.size());
        int[] actual = new int[n];
        Tensor batch = null;
        for (int i = 0; i < n; i++) {
            Example e = test.get(i);
            raw.add(e.image());
            actual[i] = e.label();
            Tensor x = r.source().testTransform().apply(e.image(), null);
            if (batch == null) batch = Tensor.zeros(n, x.dim(0), x.dim(1), x.dim(2));
            System.arraycopy(x.data(), 0, batch.data(), i * x.size(), x.size());
        }
        int[] predicted;
        r.model().eval();
        try (var g = GradMode.noGrad()) {
            predicted = Evaluation.argmax(r.model().call(Variable.constant(batch)).value());
        }
        PredictionGrid.save(file, raw, predicted, actual, test.classes(), 8, 3);
    }

    private static boolean fashionMnistInstalled() {
        try {
            IdxDataset.fashionMnist(false);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
