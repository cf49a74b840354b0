package org.resnet4j.data.dense;

import java.io.IOException;
import java.util.List;

/**
 * A map-style dataset of images with boxes and/or masks, as torchvision's {@code CocoDetection}
 * and {@code VOCSegmentation}: a size, random access by index, and the class names (label
 * {@code k} is {@code classes().get(k)}; for masks, class 0 is the background as in VOC). Called
 * from several threads at once, so implementations must be safe for concurrent reads.
 */
public interface DenseDataset {
    int size();

    /**
     * Example {@code index}, its image float32 RGB CHW in [0, 1].
     *
     * @throws org.resnet4j.data.CorruptImageException when its image cannot be decoded (a loader may skip it)
     * @throws IOException when reading fails in any other way
     */
    DenseExample get(int index) throws IOException;

    List<String> classes();
}
