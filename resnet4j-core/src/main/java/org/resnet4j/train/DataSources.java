package org.resnet4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.resnet4j.data.CenterCrop;
import org.resnet4j.data.CifarDataset;
import org.resnet4j.data.Compose;
import org.resnet4j.data.Dataset;
import org.resnet4j.data.Example;
import org.resnet4j.data.IdxDataset;
import org.resnet4j.data.ImageFolder;
import org.resnet4j.data.Normalize;
import org.resnet4j.data.RandomCrop;
import org.resnet4j.data.RandomErasing;
import org.resnet4j.data.RandomHorizontalFlip;
import org.resnet4j.data.RandomResizedCrop;
import org.resnet4j.data.Resize;
import org.resnet4j.data.SyntheticShapes;
import org.resnet4j.data.Transform;

/**
 * Opens a named data source with its usual preprocessing: the train/test datasets, the training
 * augmentation (random crop with padding and horizontal flip, as He et al. 2015 on CIFAR) and the
 * normalization both splits share.
 */
public final class DataSources {
    /** Train and test splits and their transforms. */
    public record Source(String name, Dataset train, Dataset test, Transform trainTransform, Transform testTransform,
                         Normalize normalize, int size) {
        public int channels() { return train.channels(); }
        public int classes() { return train.classes().size(); }
    }

    private DataSources() {}

    public static Source open(TrainConfig c) throws IOException {
        Dataset train, test;
        Normalize norm;
        List<Transform> aug = new ArrayList<>();
        boolean std = c.augment.equals("standard");
        Transform testTf;
        boolean folder = false;
        switch (c.data) {
            case "shapes" -> {
                // disjoint seeds: the test images are never seen in training
                train = new SyntheticShapes(c.shapesTrain, c.seed * 2 + 1);
                test = new SyntheticShapes(c.shapesTest, c.seed * 2 + 2);
                norm = new Normalize(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
                if (std) aug.add(new RandomCrop(32, 2));
                if (std) aug.add(new RandomHorizontalFlip());
                testTf = norm;
            }
            case "fashion-mnist", "mnist" -> {
                boolean fashion = c.data.equals("fashion-mnist");
                if (c.dataDir != null) {
                    List<String> cls = fashion ? IdxDataset.FASHION_MNIST_CLASSES : IdxDataset.MNIST_CLASSES;
                    train = IdxDataset.load(Path.of(c.dataDir), true, cls);
                    test = IdxDataset.load(Path.of(c.dataDir), false, cls);
                } else if (fashion) {
                    train = IdxDataset.fashionMnist(true);
                    test = IdxDataset.fashionMnist(false);
                } else {
                    throw new IllegalArgumentException("mnist needs --data-dir DIR (the folder with train-images-idx3-ubyte[.gz] ...)");
                }
                // Fashion-MNIST training-set mean and std (MNIST: 0.1307, 0.3081)
                norm = fashion ? new Normalize(new float[] {0.2860f}, new float[] {0.3530f})
                        : new Normalize(new float[] {0.1307f}, new float[] {0.3081f});
                if (std) aug.add(new RandomCrop(28, 2));
                if (std && fashion) aug.add(new RandomHorizontalFlip());
                testTf = norm;
            }
            case "cifar10", "cifar100" -> {
                if (c.dataDir == null) throw new IllegalArgumentException(c.data + " needs --data-dir DIR (the folder with the binary batches)");
                boolean ten = c.data.equals("cifar10");
                train = ten ? CifarDataset.cifar10(Path.of(c.dataDir), true) : CifarDataset.cifar100(Path.of(c.dataDir), true);
                test = ten ? CifarDataset.cifar10(Path.of(c.dataDir), false) : CifarDataset.cifar100(Path.of(c.dataDir), false);
                norm = new Normalize(new float[] {0.4914f, 0.4822f, 0.4465f}, new float[] {0.2470f, 0.2435f, 0.2616f});
                if (std) aug.add(new RandomCrop(32, 4));
                if (std) aug.add(new RandomHorizontalFlip());
                testTf = norm;
            }
            default -> {
                Path root = Path.of(c.data);
                if (!Files.isDirectory(root)) {
                    throw new IllegalArgumentException("unknown data '" + c.data + "': use shapes, fashion-mnist, mnist, cifar10, "
                            + "cifar100 or a directory with train/ and val/ (or test/) class folders");
                }
                folder = true;
                Path val = Files.isDirectory(root.resolve("val")) ? root.resolve("val") : root.resolve("test");
                train = new ImageFolder(root.resolve("train"));
                test = new ImageFolder(val);
                norm = Normalize.imagenet();
                int s = c.imageSize;
                // torchvision's ImageNet recipe: RandomResizedCrop + flip; eval resize to s*256/224, center crop s
                if (std) aug.add(new RandomResizedCrop(s));
                else aug.add(new Compose(new Resize(s * 256 / 224), new CenterCrop(s)));
                if (std) aug.add(new RandomHorizontalFlip());
                testTf = new Compose(new Resize(s * 256 / 224), new CenterCrop(s), norm);
            }
        }
        aug.add(norm);
        if (c.randomErasing > 0) aug.add(new RandomErasing(c.randomErasing, 0.02, 0.33, 0.3, 3.3, 0f));
        if (!c.classes.isEmpty()) {
            // indices are resolved once, against the training classes, so both splits keep the same ones by name
            Dataset all = train;
            train = classSubset(train, c.classes);
            try {
                test = classSubset(test, train.classes());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("test split: " + e.getMessage() + " (training classes: " + all.classes() + ")");
            }
        }
        train = subset(train, c.trainSubset, c.seed);
        test = subset(test, c.testSubset, c.seed + 1);
        int size = folder ? c.imageSize : train.height();
        return new Source(c.data, train, test, new Compose(aug), testTf, norm, size);
    }

    /**
     * The preprocessing of a new image for a model trained on {@code data} at {@code imageSize}:
     * the evaluation transform of that source (class folders: resize to size*256/224, center
     * crop; the fixed-size sets: resize to their size), then its normalization.
     */
    public static Transform predictTransform(String data, int channels, int imageSize) {
        Normalize norm = normalization(data, channels);
        return switch (data) {
            case "shapes", "fashion-mnist", "mnist", "cifar10", "cifar100" -> new Compose(new Resize(imageSize, imageSize), norm);
            default -> new Compose(new Resize(imageSize * 256 / 224), new CenterCrop(imageSize), norm);
        };
    }

    /** The normalization a data source's models were trained with (for prediction on new images). */
    public static Normalize normalization(String data, int channels) {
        return switch (data) {
            case "shapes" -> new Normalize(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
            case "fashion-mnist" -> new Normalize(new float[] {0.2860f}, new float[] {0.3530f});
            case "mnist" -> new Normalize(new float[] {0.1307f}, new float[] {0.3081f});
            case "cifar10", "cifar100" -> new Normalize(new float[] {0.4914f, 0.4822f, 0.4465f}, new float[] {0.2470f, 0.2435f, 0.2616f});
            default -> channels == 3 ? Normalize.imagenet() : new Normalize(new float[] {0.5f}, new float[] {0.5f});
        };
    }

    /**
     * The examples of the named classes only (names, or 0-based indices as text), relabelled
     * 0..k-1 in the order given: a class-split of one dataset, e.g. for a transfer experiment that
     * pre-trains on some classes and fine-tunes on the others.
     *
     * @throws IllegalArgumentException naming a class that the dataset does not have, or a repeat
     */
    public static Dataset classSubset(Dataset d, List<String> wanted) throws IOException {
        List<String> names = d.classes();
        int[] newLabel = new int[names.size()];
        java.util.Arrays.fill(newLabel, -1);
        List<String> kept = new ArrayList<>();
        for (String w : wanted) {
            String s = w.strip();
            int k = names.indexOf(s);
            if (k < 0 && s.matches("\\d{1,9}")) k = Integer.parseInt(s);
            if (k < 0 || k >= names.size()) {
                throw new IllegalArgumentException("classes: '" + s + "' is neither a class name nor an index in 0.." + (names.size() - 1) + " of " + names);
            }
            if (newLabel[k] >= 0) throw new IllegalArgumentException("classes: class '" + names.get(k) + "' (index " + k + ") is listed twice");
            newLabel[k] = kept.size();
            kept.add(names.get(k));
        }
        int n = 0;
        int[] pick = new int[d.size()];
        for (int i = 0; i < d.size(); i++) if (newLabel[d.label(i)] >= 0) pick[n++] = i;
        int size = n;
        int[] idx = java.util.Arrays.copyOf(pick, n);
        List<String> classes = List.copyOf(kept);
        return new Dataset() {
            @Override public int size() { return size; }
            @Override public Example get(int i) throws IOException {
                if (i < 0 || i >= size) throw new IndexOutOfBoundsException(i);
                Example e = d.get(idx[i]);
                return new Example(e.image(), newLabel[e.label()]);
            }
            @Override public int label(int i) throws IOException { return newLabel[d.label(idx[i])]; }
            @Override public List<String> classes() { return classes; }
            @Override public int channels() { return d.channels(); }
            @Override public int height() { return d.height(); }
            @Override public int width() { return d.width(); }
        };
    }

    /**
     * k examples drawn at random (seeded, then kept in index order) from a dataset (k {@literal <=} 0: all of
     * it). Random rather than the first k: class folders are sorted by class, so a prefix would
     * hold only the first classes.
     */
    public static Dataset subset(Dataset d, int k, long seed) {
        if (k <= 0 || k >= d.size()) return d;
        int[] all = new int[d.size()];
        for (int i = 0; i < all.length; i++) all[i] = i;
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = 0; i < k; i++) { // partial Fisher-Yates
            int j = i + r.nextInt(all.length - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] pick = java.util.Arrays.copyOf(all, k);
        java.util.Arrays.sort(pick);
        return new Dataset() {
            @Override public int size() { return k; }
            @Override public Example get(int i) throws IOException {
                if (i < 0 || i >= k) throw new IndexOutOfBoundsException(i);
                return d.get(pick[i]);
            }
            @Override public int label(int i) throws IOException { return d.label(pick[i]); }
            @Override public List<String> classes() { return d.classes(); }
            @Override public int channels() { return d.channels(); }
            @Override public int height() { return d.height(); }
            @Override public int width() { return d.width(); }
        };
    }
}
