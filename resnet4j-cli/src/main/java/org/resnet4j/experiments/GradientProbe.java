package org.resnet4j.experiments;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Conv2d;
import org.resnet4j.nn.Linear;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.nn.Sequential;
import org.resnet4j.tensor.Tensor;

/**
 * Measures how the gradient of one training batch is spread over the depth of a network: the
 * question behind the degradation problem of He et al. 2015 ("Deep Residual Learning", sections
 * 4.1-4.2, Fig. 6). The paper argues that its deeper plain nets train worse although, with batch
 * normalization, their forward signals have non-zero variance and their backward gradients
 * "exhibit healthy norms", so the degradation is an optimisation difficulty rather than vanishing
 * gradients. This probe produces the numbers that claim is about.
 *
 * <p>One call runs, in train mode, forward + mean cross-entropy + backward on the given batch and
 * returns, for every {@link Conv2d} and {@link Linear} weight in {@code namedParameters()} order
 * (input to output):
 * <ul>
 *   <li>||w||, ||grad|| (L2 over the whole tensor) and the gradient RMS ||grad|| / sqrt(numel),
 *       which compares layers of different sizes;</li>
 *   <li>the SGD update-to-weight ratio lr * ||grad|| / ||w||: the relative change one plain SGD
 *       step would make (no momentum, no weight decay). A layer whose ratio is orders of magnitude
 *       below the others barely moves, whatever its absolute gradient.</li>
 * </ul>
 * and, for the output of every conv, BN, linear layer and block (any module with children other
 * than a {@link Sequential} or the model itself), seen through {@link Module#withForwardHook}:
 * mean, standard deviation and the fraction of elements {@code <= 0}, i.e. the fraction a ReLU
 * sets to zero (for block outputs, which end in a ReLU, exactly the fraction of zeros).
 *
 * <p>The probe leaves the model as it found it: its train/eval mode, every buffer (a train-mode
 * forward would otherwise move BN running statistics) and every parameter's gradient (none is
 * left behind where there was none; gradients a caller had accumulated are put back).
 */
public final class GradientProbe {
    private GradientProbe() {}

    /** Statistics of one conv or linear weight; {@code depth} counts these layers from 0 at the input. */
    public record LayerStats(String name, int depth, String type, int[] shape, long numel, double weightNorm,
                             double gradNorm, double gradRms, double updateRatio) {}

    /** Statistics of one module's forward output; {@code order} is the call order. */
    public record ActivationStats(String name, String type, int order, int[] shape, double mean, double std,
                                  double zeroFraction) {}

    /** What one probe measured. */
    public record Result(double loss, double lr, int batch, List<LayerStats> layers, List<ActivationStats> activations) {
        public Result {
            layers = List.copyOf(layers);
            activations = List.copyOf(activations);
        }

        /** Column names of {@link #toCsv}. */
        public static final List<String> CSV_COLUMNS = List.of(
                "depth", "name", "type", "shape", "numel", "weight_norm", "grad_norm", "grad_rms", "update_ratio", "lr");

        /** Column names of {@link #activationsToCsv}. */
        public static final List<String> ACTIVATION_COLUMNS = List.of("order", "name", "type", "shape", "mean", "std", "zero_fraction");

        /**
         * Writes one row per conv/linear weight: {@code depth,name,type,shape,numel,weight_norm,
         * grad_norm,grad_rms,update_ratio,lr}, shapes as {@code 16x3x3x3}, numbers with 6
         * significant digits. This is the gradient CSV {@link DegradationReport} reads.
         */
        public void toCsv(Path file) throws IOException {
            StringBuilder sb = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
            for (LayerStats l : layers) {
                sb.append(l.depth()).append(',').append(l.name()).append(',').append(l.type()).append(',')
                        .append(shapeString(l.shape())).append(',').append(l.numel()).append(',')
                        .append(num(l.weightNorm())).append(',').append(num(l.gradNorm())).append(',')
                        .append(num(l.gradRms())).append(',').append(num(l.updateRatio())).append(',').append(num(lr)).append('\n');
            }
            write(file, sb);
        }

        /** Writes one row per recorded module output: {@code order,name,type,shape,mean,std,zero_fraction}. */
        public void activationsToCsv(Path file) throws IOException {
            StringBuilder sb = new StringBuilder(String.join(",", ACTIVATION_COLUMNS)).append('\n');
            for (ActivationStats a : activations) {
                sb.append(a.order()).append(',').append(a.name()).append(',').append(a.type()).append(',')
                        .append(shapeString(a.shape())).append(',').append(num(a.mean())).append(',')
                        .append(num(a.std())).append(',').append(num(a.zeroFraction())).append('\n');
            }
            write(file, sb);
        }

        /** The activation record of the last block (or null when the model has no blocks). */
        public ActivationStats lastBlock() {
            ActivationStats last = null;
            for (ActivationStats a : activations) if (a.type().equals("block")) last = a;
            return last;
        }
    }

    /**
     * Probes {@code model} with one batch.
     *
     * @param images NCHW batch, already normalized as in training
     * @param labels one class index per image
     * @param lr the learning rate of the update-to-weight ratio
     */
    public static Result probe(Module model, Tensor images, int[] labels, double lr) {
        if (images.rank() != 4) throw new IllegalArgumentException("probe expects an NCHW batch, got " + images.shapeString());
        if (labels.length != images.dim(0)) {
            throw new IllegalArgumentException("batch has " + images.dim(0) + " images but " + labels.length + " labels");
        }
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);

        boolean wasTraining = model.isTraining();
        LinkedHashMap<String, Parameter> params = model.namedParameters();
        Map<Parameter, Tensor> savedGrads = new IdentityHashMap<>();
        for (Parameter p : params.values()) {
            if (p.grad() != null) savedGrads.put(p, p.grad());
            p.zeroGrad();
        }
        List<Tensor[]> savedBuffers = new ArrayList<>();
        for (Module m : model.namedModules().values()) {
            for (Tensor b : m.ownBuffers().values()) if (!b.isMeta()) savedBuffers.add(new Tensor[] {b, b.copy()});
        }

        IdentityHashMap<Module, String> names = model.moduleNames();
        List<ActivationStats> acts = new ArrayList<>();
        Map<String, Integer> calls = new HashMap<>();
        double lossValue;
        try {
            model.train();
            Variable loss = Module.withForwardHook((m, y) -> {
                String type = activationType(model, m);
                if (type == null || y.isMeta()) return;
                String name = names.getOrDefault(m, m.getClass().getSimpleName());
                // A module called twice in one forward (a shared layer) gets "#2", "#3" ... so rows stay distinct.
                int k = calls.merge(name, 1, Integer::sum);
                acts.add(activationStats(k == 1 ? name : name + "#" + k, type, acts.size(), y.value()));
            }, () -> LossOps.crossEntropy(model.call(Variable.constant(images)), labels, 0f));
            lossValue = loss.value().data()[0];
            loss.backward();

            List<LayerStats> layers = new ArrayList<>();
            IdentityHashMap<Module, Boolean> seen = new IdentityHashMap<>();
            for (var e : model.namedModules().entrySet()) {
                Module m = e.getValue();
                Parameter w = m instanceof Conv2d c ? c.weight : m instanceof Linear l ? l.weight : null;
                if (w == null || seen.put(m, true) != null) continue;
                layers.add(layerStats(e.getKey(), layers.size(), m.getClass().getSimpleName(), w, lr));
            }
            return new Result(lossValue, lr, labels.length, layers, acts);
        } finally {
            for (Parameter p : params.values()) {
                p.zeroGrad();
                Tensor g = savedGrads.get(p);
                if (g != null) p.addGradOwned(g);
            }
            for (Tensor[] b : savedBuffers) b[0].copyFrom(b[1]);
            model.train(wasTraining);
        }
    }

    /** "conv", "bn", "linear", "block", or null for outputs the probe does not record. */
    private static String activationType(Module root, Module m) {
        if (m instanceof Conv2d) return "conv";
        if (m instanceof BatchNorm2d) return "bn";
        if (m instanceof Linear) return "linear";
        if (m != root && !(m instanceof Sequential) && !m.children().isEmpty()) return "block";
        return null;
    }

    static LayerStats layerStats(String name, int depth, String type, Parameter w, double lr) {
        double wn = l2(w.value());
        Tensor g = w.grad();
        // No gradient reached the weight (frozen, or not on the loss's path): it receives no update.
        double gn = g == null ? 0 : l2(g);
        long n = w.value().size();
        return new LayerStats(name, depth, type, w.value().shape(), n, wn, gn, gn / Math.sqrt(n), updateRatio(lr, gn, wn));
    }

    /** lr * ||grad|| / ||w||: the relative size of one plain SGD step (infinite for a zero weight with a gradient). */
    public static double updateRatio(double lr, double gradNorm, double weightNorm) {
        if (weightNorm == 0) return gradNorm == 0 ? 0 : Double.POSITIVE_INFINITY;
        return lr * gradNorm / weightNorm;
    }

    /** L2 norm of a tensor, accumulated in double. */
    public static double l2(Tensor t) {
        double s = 0;
        for (float v : t.data()) s += (double) v * v;
        return Math.sqrt(s);
    }

    static ActivationStats activationStats(String name, String type, int order, Tensor y) {
        float[] d = y.data();
        double sum = 0, sq = 0;
        long nonPositive = 0;
        for (float v : d) {
            sum += v;
            sq += (double) v * v;
            if (v <= 0) nonPositive++;
        }
        int n = d.length;
        double mean = sum / n;
        double var = Math.max(0, sq / n - mean * mean);
        return new ActivationStats(name, type, order, y.shape(), mean, Math.sqrt(var), (double) nonPositive / n);
    }

    static String shapeString(int[] shape) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.length; i++) sb.append(i == 0 ? "" : "x").append(shape[i]);
        return sb.toString();
    }

    static String num(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }

    private static void write(Path file, CharSequence text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
