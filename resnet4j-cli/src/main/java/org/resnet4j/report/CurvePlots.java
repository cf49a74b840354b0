package org.resnet4j.report;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import org.resnet4j.train.MetricsLog;
import org.resnet4j.train.TrainConfig;
import org.resnet4j.train.Trainer;

/** A run's learning curves, loss.png and accuracy.png, drawn from its metrics.csv. */
public final class CurvePlots {
    private CurvePlots() {}

    /**
     * loss.png and accuracy.png in {@code runDir} from its metrics.csv: train solid, test dashed.
     * A segmentation run's second figure is miou.png: test mIoU and pixel accuracy, train pixel accuracy;
     * a detection run's is ap.png: test AP, AP50 and AP75 (COCO's, in percent).
     */
    public static void write(Path runDir) throws IOException {
        double[] epoch = MetricsLog.column(runDir, "epoch");
        String header = java.nio.file.Files.readAllLines(runDir.resolve("metrics.csv")).get(0);
        new LinePlot("Loss", "epoch", header.contains("test_ap") ? "FCOS loss (sum of the three)" : "cross-entropy")
                .add("train", epoch, MetricsLog.column(runDir, "train_loss"), false)
                .add("test", epoch, MetricsLog.column(runDir, "test_loss"), true)
                .savePng(runDir.resolve("loss.png"));
        if (header.contains("test_ap")) {
            new LinePlot("Detection", "epoch", "COCO box AP (%)")
                    .add("AP", epoch, percent(MetricsLog.column(runDir, "test_ap")), false)
                    .add("AP50", epoch, percent(MetricsLog.column(runDir, "test_ap50")), true)
                    .add("AP75", epoch, percent(MetricsLog.column(runDir, "test_ap75")), true)
                    .savePng(runDir.resolve("ap.png"));
            return;
        }
        if (header.contains("test_miou")) {
            new LinePlot("Segmentation", "epoch", "percent")
                    .add("train pixel acc", epoch, percent(MetricsLog.column(runDir, "train_acc")), false)
                    .add("test pixel acc", epoch, percent(MetricsLog.column(runDir, "test_pixel_acc")), true)
                    .add("test mIoU", epoch, percent(MetricsLog.column(runDir, "test_miou")), true)
                    .savePng(runDir.resolve("miou.png"));
            return;
        }
        double[] trainAcc = MetricsLog.column(runDir, "train_acc"), testAcc = MetricsLog.column(runDir, "test_top1");
        for (int i = 0; i < epoch.length; i++) {
            trainAcc[i] *= 100;
            testAcc[i] *= 100;
        }
        new LinePlot("Accuracy", "epoch", "top-1 accuracy (%)")
                .add("train", epoch, trainAcc, false)
                .add("test", epoch, testAcc, true)
                .savePng(runDir.resolve("accuracy.png"));
    }

    private static double[] percent(double[] v) {
        double[] p = new double[v.length];
        for (int i = 0; i < v.length; i++) p[i] = 100 * v[i];
        return p;
    }

    /**
     * A trainer for {@code config} that reports as the command line does: a progress bar per
     * epoch on {@code out}, and both curves redrawn after every epoch.
     */
    public static Trainer reportingTrainer(TrainConfig config, PrintStream out) {
        Path runDir = config.runDir();
        return new Trainer(config, out).progress(Progress.forTraining(out))
                .onEpoch((done, model, source) -> {
                    if (done > 0) write(runDir);
                });
    }
}
