package org.resnet4j.train;

import java.util.List;
import java.util.Map;
import org.resnet4j.nn.Module;

/**
 * What the detection and segmentation runs share: a model, a training and a test loader over
 * chosen indices, torchvision's reference weight decay (its train.py's {@code --wd 1e-4}), and a
 * checkpoint that records the classes and the image size. A task adds its describe line, its loss
 * and its evaluation.
 */
abstract class DenseRun implements Task.Run<DenseLoader.DenseBatch> {
    final TrainConfig config;
    final Module model;
    final List<String> classes;
    final DenseLoader trainLoader, testLoader;
    final int trainImages, testImages, imageSize;

    DenseRun(TrainConfig config, Module model, List<String> classes, DenseLoader trainLoader, DenseLoader testLoader,
             int trainImages, int testImages, int imageSize) {
        this.config = config;
        this.model = model;
        this.classes = classes;
        this.trainLoader = trainLoader;
        this.testLoader = testLoader;
        this.trainImages = trainImages;
        this.testImages = testImages;
        this.imageSize = imageSize;
    }

    @Override public Module model() { return model; }
    @Override public double defaultWeightDecay() { return 1e-4; }
    @Override public int trainSize() { return trainImages; }
    @Override public long batchesPerEpoch() { return trainLoader.batchesPerEpoch(); }
    @Override public Iterable<DenseLoader.DenseBatch> epoch(int epoch) { return trainLoader.epoch(epoch); }
    @Override public int size(DenseLoader.DenseBatch b) { return b.size(); }

    @Override
    public Map<String, Object> checkpointConfig() {
        Map<String, Object> cfg = config.toMap();
        cfg.put(TrainedModel.CLASSES, classes);
        cfg.put(TrainedModel.IN_CHANNELS, 3);
        cfg.put(TrainedModel.IMAGE_SIZE, imageSize);
        return cfg;
    }

    @Override public int skippedTrain() { return trainLoader.skipped(); }
    @Override public int skippedTest() { return testLoader.skipped(); }

    @Override
    public String skippedSummary() {
        return ClassificationTask.skippedSummary(skippedTrain(), trainImages, skippedTest(), testImages);
    }

    @Override public DataSources.Source source() { return null; }

    @Override
    public void close() {
        try (trainLoader; testLoader) {
            // closes both loaders
        }
    }
}
