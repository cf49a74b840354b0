package org.resnet4j.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.Function;
import org.resnet4j.autograd.Variable;
import org.resnet4j.autograd.ops.LossOps;
import org.resnet4j.data.Batch;
import org.resnet4j.data.DataLoader;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;
import org.resnet4j.train.Optimizer;

/**
 * Single-process references the Spark trainer is compared with, written from the definitions
 * and sharing no code with it: the batches come from the core's {@link DataLoader} (so a
 * different sampling in Spark shows up as a weight difference), and each step is either
 * <ul>
 *   <li>{@link #plain}: one forward and backward over the whole batch, the mean loss, as
 *       {@code Trainer} does; or</li>
 *   <li>{@link #perShard}: the batch cut into {@code shards} contiguous slices, each run forward
 *       and backward on its own from the same start-of-step buffers with its loss scaled by
 *       shard / batch; the shards' gradients added exactly (in double) and rounded to float once,
 *       the order-free sum; the buffers kept are those after shard 0 (what
 *       DistributedDataParallel computes with per-replica batch norm).</li>
 * </ul>
 */
final class SingleMachine {
    /** The final model and the mean loss of each step's batch (before its update). */
    record Run(Module model, double[] losses) {}

    private SingleMachine() {}

    static Run plain(SerializableSupplier<? extends Module> factory, TrainingData data, int batch, int steps,
                     Function<Module, ? extends Optimizer> optimizer) {
        return run(factory, data, batch, 1, steps, optimizer);
    }

    static Run perShard(SerializableSupplier<? extends Module> factory, TrainingData data, int batch, int shards, int steps,
                        Function<Module, ? extends Optimizer> optimizer) {
        return run(factory, data, batch, shards, steps, optimizer);
    }

    private static Run run(SerializableSupplier<? extends Module> factory, TrainingData data, int batch, int shards, int steps,
                           Function<Module, ? extends Optimizer> optimizer) {
        Module model = factory.get();
        Optimizer opt = optimizer.apply(model);
        List<Tensor> buffers = new ArrayList<>();
        for (Module m : model.namedModules().values()) buffers.addAll(m.ownBuffers().values());
        double[] losses = new double[steps];
        int done = 0;
        try (DataLoader loader = new DataLoader(data.dataset().get(), data.transform() == null ? null : data.transform().get(),
                batch, true, data.seed(), 0, 0, true)) {
            for (int epoch = 0; done < steps; epoch++) {
                for (Batch b : loader.epoch(epoch)) {
                    if (done == steps) break;
                    model.train();
                    if (shards == 1) {
                        Variable loss = LossOps.crossEntropy(model.call(Variable.constant(b.images())), b.labels(), 0f);
                        losses[done] = loss.value().data()[0];
                        loss.backward();
                    } else {
                        List<float[]> start = copies(buffers), afterShard0 = null;
                        int n = batch / shards;
                        double lossSum = 0;
                        List<Parameter> params = model.parameters();
                        double[][] sum = new double[params.size()][];
                        for (int s = 0; s < shards; s++) {
                            restore(buffers, start);
                            Batch part = slice(b, s * n, n);
                            Variable loss = LossOps.crossEntropy(model.call(Variable.constant(part.images())), part.labels(), 0f);
                            lossSum += (double) loss.value().data()[0] * n;
                            loss.backward(Tensor.scalar((float) n / batch)); // sum over the shard / global batch
                            if (s == 0) afterShard0 = copies(buffers);
                            for (int i = 0; i < params.size(); i++) {
                                Tensor g = params.get(i).grad();
                                if (g == null) continue;
                                if (sum[i] == null) sum[i] = new double[g.size()];
                                for (int j = 0; j < sum[i].length; j++) sum[i][j] += g.data()[j];
                            }
                            model.zeroGrad();
                        }
                        for (int i = 0; i < params.size(); i++) {
                            if (sum[i] == null) continue;
                            float[] g = new float[sum[i].length];
                            for (int j = 0; j < g.length; j++) g[j] = (float) sum[i][j];
                            params.get(i).addGrad(Tensor.of(g, params.get(i).value().shape()));
                        }
                        restore(buffers, afterShard0);
                        losses[done] = lossSum / batch;
                    }
                    opt.step();
                    opt.zeroGrad();
                    done++;
                }
            }
        }
        return new Run(model, losses);
    }

    private static Batch slice(Batch b, int from, int n) {
        int[] shape = b.images().shape().clone();
        int per = b.images().size() / shape[0];
        shape[0] = n;
        float[] x = Arrays.copyOfRange(b.images().data(), from * per, (from + n) * per);
        return new Batch(Tensor.of(x, shape), Arrays.copyOfRange(b.labels(), from, from + n));
    }

    private static List<float[]> copies(List<Tensor> ts) {
        List<float[]> out = new ArrayList<>();
        for (Tensor t : ts) out.add(t.data().clone());
        return out;
    }

    private static void restore(List<Tensor> ts, List<float[]> values) {
        for (int i = 0; i < ts.size(); i++) System.arraycopy(values.get(i), 0, ts.get(i).data(), 0, values.get(i).length);
    }

    /**
     * How far apart two models' state dicts are: {@code model}, the relative distance of the
     * whole state as one vector, ||a - b|| / ||b|| (2-norms); {@code tensor}, the largest
     * per-tensor relative distance max|a - b| / max|b| and where it is.
     */
    static Difference difference(Module a, Module b) {
        LinkedHashMap<String, Tensor> sa = a.stateDict(), sb = b.stateDict();
        if (!sa.keySet().equals(sb.keySet())) throw new IllegalArgumentException("different state keys");
        String worst = null;
        double maxTensor = -1, diff2 = 0, norm2 = 0;
        for (String k : sa.keySet()) {
            float[] x = sa.get(k).data(), y = sb.get(k).data();
            double diff = 0, scale = 1e-30;
            for (int i = 0; i < x.length; i++) {
                double d = (double) x[i] - y[i];
                diff = Math.max(diff, Math.abs(d));
                scale = Math.max(scale, Math.abs(y[i]));
                diff2 += d * d;
                norm2 += (double) y[i] * y[i];
            }
            if (diff / scale > maxTensor) {
                maxTensor = diff / scale;
                worst = k;
            }
        }
        return new Difference(Math.sqrt(diff2 / norm2), maxTensor, worst);
    }

    /** See {@link #difference}. */
    record Difference(double model, double tensor, String worstTensor) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%.3g over the model, at most %.3g in one tensor (%s)", model, tensor, worstTensor);
        }
    }
}
