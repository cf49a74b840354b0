package org.resnet4j.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/**
 * Sets every state_dict entry by the formula tools/make_goldens.py uses on the PyTorch side, so
 * parity goldens need not store weights or inputs: with keys sorted, k the key's index and i
 * the flat index, s = 2 frac(sin(12.9898 i + 78.233 k) * 43758.5453) - 1 in double (a hash,
 * uniform in [-1, 1)), then a per-kind scale (see tools/README.md).
 */
public final class FormulaWeights {
    private FormulaWeights() {}

    /** The sine hash of make_goldens.py: 2 * frac(sin(12.9898 i + 78.233 k) * 43758.5453) - 1. */
    public static double hash(long i, int k) {
        double h = Math.sin(12.9898 * i + 78.233 * k) * 43758.5453;
        return 2.0 * (h - Math.floor(h)) - 1.0;
    }

    /** The golden input: sqrt(3) * hash(i, 1000), unit variance. */
    public static Tensor input(int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (float) (Math.sqrt(3.0) * hash(i, 1000));
        return t;
    }

    public static void apply(Module model) {
        Map<String, Tensor> state = model.stateDict();
        List<String> keys = new ArrayList<>(state.keySet());
        Collections.sort(keys);
        for (int k = 0; k < keys.size(); k++) {
            String key = keys.get(k);
            Tensor t = state.get(key);
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                double s = hash(i, k);
                double v;
                if (key.endsWith("num_batches_tracked")) v = 0;
                else if (key.endsWith("running_mean")) v = 0.1 * s;
                else if (key.endsWith("running_var")) v = 0.75 + 0.25 * s;
                else if (key.endsWith(".weight") && t.rank() == 1) v = 1 + 0.2 * s;
                else if (key.endsWith(".bias")) v = 0.1 * s;
                else if (key.endsWith(".weight")) v = s * Math.sqrt(6.0 / (d.length / t.dim(0)));
                else throw new IllegalStateException("no formula for " + key);
                d[i] = (float) v;
            }
        }
    }
}
