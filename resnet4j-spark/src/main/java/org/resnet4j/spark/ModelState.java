package org.resnet4j.spark;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * A copy of a model's state dict (parameters and buffers, torchvision's names and order) in a
 * form Java serialization ships: what the driver broadcasts before each step. A copy, because in
 * local mode a broadcast value is handed to the tasks as the very object the driver gave
 * (TorrentBroadcast keeps it in the driver's block manager), and the driver's live tensors change
 * with every step.
 */
final class ModelState implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String[] names;
    private final int[][] shapes;
    private final float[][] values;

    private ModelState(String[] names, int[][] shapes, float[][] values) {
        this.names = names;
        this.shapes = shapes;
        this.values = values;
    }

    static ModelState of(Module model) {
        LinkedHashMap<String, Tensor> state = model.stateDict();
        String[] names = new String[state.size()];
        int[][] shapes = new int[names.length][];
        float[][] values = new float[names.length][];
        int i = 0;
        for (var e : state.entrySet()) {
            names[i] = e.getKey();
            shapes[i] = e.getValue().shape();
            values[i] = e.getValue().data().clone();
            i++;
        }
        return new ModelState(names, shapes, values);
    }

    /** Writes this state into {@code model} (every key and shape checked first, as loadStateDict does). */
    void loadInto(Module model) {
        Map<String, Tensor> map = new LinkedHashMap<>();
        for (int i = 0; i < names.length; i++) map.put(names[i], Tensor.of(values[i], shapes[i]));
        model.loadStateDict(map, true);
    }
}
