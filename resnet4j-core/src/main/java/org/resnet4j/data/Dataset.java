package org.resnet4j.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.resnet4j.tensor.Tensor;

/**
 * A map-style dataset, as {@code torch.utils.data.Dataset}: a size and random access by index
 * ({@code __len__} / {@code __getitem__}). {@link DataLoader} calls {@link #get} from several
 * worker threads at once, so implementations must be safe for concurrent reads; all the ones in
 * this package are (immutable, or pure functions of the index).
 */
public interface Dataset {
    /** Number of examples. */
    int size();

    /**
     * Example {@code index}, its image float32 CHW in [0, 1].
     *
     * @throws CorruptImageException when the image cannot be decoded (the loader skips it)
     * @throws IOException when reading fails in any other way (the loader stops)
     * @throws IndexOutOfBoundsException when index is not in [0, size())
     */
    Example get(int index) throws IOException;

    /** Class names; label {@code k} is {@code classes().get(k)} (torchvision's {@code dataset.classes}). */
    List<String> classes();

    default int numClasses() {
        return classes().size();
    }

    /** The label of example {@code index}; datasets that can answer without decoding override this. */
    default int label(int index) throws IOException {
        return get(index).label();
    }

    /** Channels of every image; by default read from example 0. */
    default int channels() {
        return first().dim(0);
    }

    /** Height of every image, or -1 when images differ in size; by default read from example 0. */
    default int height() {
        return first().dim(1);
    }

    /** Width of every image, or -1 when images differ in size; by default read from example 0. */
    default int width() {
        return first().dim(2);
    }

    private Tensor first() {
        if (size() == 0) throw new IllegalStateException("the dataset is empty");
        try {
            return get(0).image();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
