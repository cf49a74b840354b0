package org.resnet4j.train;

import java.util.Iterator;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.data.Batch;
import org.resnet4j.data.DataLoader;
import org.resnet4j.nn.Inference;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/** Loss, top-1 and top-5 accuracy of a model over a loader, in eval mode with no graph recorded. */
public record Evaluation(double loss, double top1, double top5, long examples) {

    public static Evaluation run(Module model, DataLoader loader) {
        boolean wasTraining = model.isTraining();
        model.eval();
        double lossSum = 0;
        long n = 0, c1 = 0, c5 = 0;
        Inference inference = new Inference(model); // one set of activation arrays for every batch
        try (var g = GradMode.noGrad()) {
            Iterator<Batch> it = loader.epoch(0);
            while (it.hasNext()) {
                Batch b = it.next();
                Tensor logits = inference.run(b.images());
                lossSum += LossOps.crossEntropy(Variable.constant(logits), b.labels(), 0f).value().data()[0] * b.size();
                int[] hits = topk(logits, b.labels());
                c1 += hits[0];
                c5 += hits[1];
                n += b.size();
            }
        } finally {
            model.train(wasTraining);
        }
        if (n == 0) throw new IllegalStateException("evaluation saw no examples");
        return new Evaluation(lossSum / n, (double) c1 / n, (double) c5 / n, n);
    }

    /** Counts of rows whose label is the arg-max (top-1) and among the 5 largest logits (top-5). */
    public static int[] topk(Tensor logits, int[] labels) {
        int rows = logits.dim(0), classes = logits.dim(1);
        float[] d = logits.data();
        int top1 = 0, top5 = 0;
        for (int i = 0; i < rows; i++) {
            float target = d[i * classes + labels[i]];
            if (!Float.isFinite(target)) continue; // a NaN or infinite logit is never a hit
            int greater = 0;
            for (int j = 0; j < classes; j++) {
                float v = d[i * classes + j];
                // ties count against the label, so a constant output never scores; NaN counts as greater
                if (v > target || Float.isNaN(v) || (v == target && j < labels[i])) greater++;
            }
            if (greater == 0) top1++;
            if (greater < 5) top5++;
        }
        return new int[] {top1, top5};
    }

    /** The predicted class of each row. */
    public static int[] argmax(Tensor logits) {
        int rows = logits.dim(0), classes = logits.dim(1);
        int[] out = new int[rows];
        float[] d = logits.data();
        for (int i = 0; i < rows; i++) {
            int best = 0;
            for (int j = 1; j < classes; j++) if (d[i * classes + j] > d[i * classes + best]) best = j;
            out[i] = best;
        }
        return out;
    }

}
