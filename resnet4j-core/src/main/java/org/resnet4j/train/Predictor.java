package org.resnet4j.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.data.Presets;
import org.resnet4j.data.Transform;
import org.resnet4j.models.Models;
import org.resnet4j.nn.Inference;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * Batched classification: images are preprocessed one by one, stacked into NCHW batches of at
 * most {@code batchSize}, run through {@link Inference} (eval mode, no autograd, activation
 * arrays reused from call to call), and ranked by softmax probability
 * (torch: {@code model.eval(); with torch.no_grad(): model(torch.stack(xs)).softmax(1).topk(k)}).
 * Eval-mode layers treat every image alone, so the answers do not depend on the batch size.
 * {@link #preprocess} and {@link #rank} may be called from any number of threads at once (the
 * transforms are immutable, as {@link Transform} requires), which is what a server's request
 * threads do; the forward passes of {@link #logits} and {@link #classify} run one at a time
 * (calls are serialized), as {@link Inference}.
 */
public final class Predictor {
    /** One class of a ranking. */
    public record Scored(int index, String label, double probability) {}

    private final Inference inference;
    private final Transform preprocess;
    private final List<String> classes;
    private final int channels, batchSize;

    /**
     * @param model the network (run in eval mode, without autograd, its activation arrays reused)
     * @param preprocess what turns a decoded CHW image in [0, 1] into the network's input
     * @param classes the label of each output
     * @param channels the image channels the network takes (1 or 3)
     * @param batchSize most images per forward pass
     */
    public Predictor(Module model, Transform preprocess, List<String> classes, int channels, int batchSize) {
        this.inference = new Inference(Objects.requireNonNull(model, "model"));
        this.preprocess = Objects.requireNonNull(preprocess, "preprocess");
        this.classes = List.copyOf(classes);
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        this.channels = channels;
        this.batchSize = batchSize;
    }

    /** A model trained by resnet4j, with its run's own evaluation preprocessing and class names. */
    public static Predictor of(TrainedModel tm, int batchSize) {
        Transform t = DataSources.predictTransform(tm.config().data, tm.inChannels(), tm.imageSize());
        return new Predictor(tm.model(), t, tm.classes(), tm.inChannels(), batchSize);
    }

    /** An ImageNet model (torchvision weights): torchvision's eval preprocessing and ImageNet's class names. */
    public static Predictor imagenet(Module model, int batchSize) {
        return new Predictor(model, Presets.imagenetEval(), Presets.imagenetClasses(), 3, batchSize);
    }

    /** A model and weights (.pth or .safetensors) by name, preprocessed as {@link #forModel} says. */
    public static Predictor fromWeights(String modelName, Path weights, int batchSize) throws IOException {
        return forModel(TrainedModel.fromWeights(modelName, weights, null), batchSize);
    }

    /**
     * ImageNet-size models take torchvision's eval preprocessing; CIFAR-size ones a resize to
     * their input size and CIFAR-10's normalization.
     */
    public static Predictor forModel(TrainedModel tm, int batchSize) {
        if (Models.get(tm.config().model).defaultSize() == 224 && tm.inChannels() == 3) {
            return new Predictor(tm.model(), Presets.imagenetEval(), tm.classes(), 3, batchSize);
        }
        Transform t = DataSources.predictTransform("cifar10", tm.inChannels(), tm.imageSize());
        return new Predictor(tm.model(), t, tm.classes(), tm.inChannels(), batchSize);
    }

    public List<String> classes() {
        return classes;
    }

    public int channels() {
        return channels;
    }

    /** The network's input for one decoded image. */
    public Tensor preprocess(Tensor chw) {
        return preprocess.apply(chw, null);
    }

    /** Logits of preprocessed inputs (each CHW, all the same shape), one row per input. */
    public float[][] logits(List<Tensor> inputs) {
        float[][] out = new float[inputs.size()][];
        for (int start = 0; start < inputs.size(); start += batchSize) {
            List<Tensor> chunk = inputs.subList(start, Math.min(inputs.size(), start + batchSize));
            Tensor batch = stack(chunk);
            Tensor y = inference.run(batch);
            int k = y.size() / chunk.size();
            if (k != classes.size()) throw new IllegalStateException("the model has " + k + " outputs for " + classes.size() + " class names");
            for (int i = 0; i < chunk.size(); i++) out[start + i] = Arrays.copyOfRange(y.data(), i * k, (i + 1) * k);
        }
        return out;
    }

    /** The {@code top} most probable classes of each decoded image (CHW in [0, 1]), best first. */
    public List<List<Scored>> classify(List<Tensor> images, int top) {
        if (top < 1) throw new IllegalArgumentException("top must be >= 1, got " + top);
        List<Tensor> inputs = new ArrayList<>(images.size());
        for (Tensor img : images) inputs.add(preprocess(img));
        List<List<Scored>> out = new ArrayList<>();
        for (float[] z : logits(inputs)) out.add(rank(z, top));
        return out;
    }

    /** {@link #classify(List, int)} of image files; an unreadable file fails naming it. */
    public List<List<Scored>> classifyFiles(List<Path> files, int top) throws IOException {
        List<Tensor> images = new ArrayList<>();
        for (Path f : files) images.add(ImageFolder.decode(f, channels));
        return classify(images, top);
    }

    /** The top classes of one row of logits by softmax probability, best first (ties: lower index first). */
    public List<Scored> rank(float[] logits, int top) {
        double[] p = softmax(logits);
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < p.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        List<Scored> r = new ArrayList<>();
        for (int i = 0; i < Math.min(top, p.length); i++) r.add(new Scored(order[i], classes.get(order[i]), p[order[i]]));
        return r;
    }

    /** softmax(z) in double, shifted by the max so that large logits do not overflow. */
    public static double[] softmax(float[] z) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : z) max = Math.max(max, v);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) sum += p[i] = Math.exp(z[i] - max);
        for (int i = 0; i < z.length; i++) p[i] /= sum;
        return p;
    }

    /** CHW tensors of one shape as one NCHW batch. */
    static Tensor stack(List<Tensor> chw) {
        int[] s = chw.getFirst().shape();
        if (s.length != 3) throw new IllegalArgumentException("expected CHW inputs, got shape " + Arrays.toString(s));
        int per = chw.getFirst().size();
        float[] data = new float[per * chw.size()];
        for (int i = 0; i < chw.size(); i++) {
            Tensor t = chw.get(i);
            if (!Arrays.equals(t.shape(), s)) {
                throw new IllegalArgumentException("input " + i + " has shape " + Arrays.toString(t.shape()) + ", input 0 " + Arrays.toString(s));
            }
            System.arraycopy(t.data(), 0, data, i * per, per);
        }
        return Tensor.of(data, chw.size(), s[0], s[1], s[2]);
    }
}
