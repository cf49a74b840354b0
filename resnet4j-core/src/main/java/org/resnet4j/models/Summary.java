package org.resnet4j.models;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import org.resnet4j.autograd.FlopCounter;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.Module;
import org.resnet4j.nn.Parameter;
import org.resnet4j.tensor.Tensor;

/**
 * A layer table of a model for one input shape, like torchinfo's summary: computed by a forward
 * pass over a meta tensor (shapes only, nothing is computed), so even resnet152 at 224x224 is instant.
 */
public final class Summary {
    /** One module call: dotted name, type, nesting depth, output shape, parameters under it. */
    public record Row(String name, String type, int depth, int[] outputShape, long params) {}

    private final List<Row> rows;
    private final long params, trainable, macs;
    private final int[] inputShape, outputShape;

    private Summary(List<Row> rows, long params, long trainable, long macs, int[] in, int[] out) {
        this.rows = rows;
        this.params = params;
        this.trainable = trainable;
        this.macs = macs;
        this.inputShape = in;
        this.outputShape = out;
    }

    public static Summary of(Module model, int... inputShape) {
        IdentityHashMap<Module, int[]> outputs = new IdentityHashMap<>();
        boolean wasTraining = model.isTraining();
        model.eval();
        Variable out;
        FlopCounter.start();
        long macs;
        try (var g = GradMode.noGrad()) {
            // a module called several times (a shared ReLU) keeps its first output shape
            out = Module.withForwardHook((m, y) -> outputs.putIfAbsent(m, y.shape()),
                    () -> model.call(Variable.constant(Tensor.meta(inputShape))));
        } finally {
            macs = FlopCounter.stop();
            model.train(wasTraining);
        }
        // rows in registration order (parents before children), as torchinfo prints them
        List<Row> rows = new ArrayList<>();
        for (var e : model.namedModules().entrySet()) {
            int[] shape = outputs.get(e.getValue());
            if (e.getKey().isEmpty() || shape == null) continue;
            long p = 0;
            for (Parameter q : e.getValue().namedParameters().values()) p += q.value().size();
            rows.add(new Row(e.getKey(), e.getValue().getClass().getSimpleName(), e.getKey().split("\\.").length, shape, p));
        }
        long trainable = 0;
        for (Parameter p : model.namedParameters().values()) if (p.requiresGrad()) trainable += p.value().size();
        return new Summary(rows, model.parameterCount(), trainable, macs, inputShape.clone(), out.shape());
    }

    public List<Row> rows() { return rows; }
    public long params() { return params; }
    public long trainableParams() { return trainable; }
    /** Multiply-accumulates of one forward pass (convs and linear layers). */
    public long macs() { return macs; }
    /** 2 x MACs, in billions. */
    public double gflops() { return 2.0 * macs / 1e9; }
    public int[] inputShape() { return inputShape.clone(); }
    public int[] outputShape() { return outputShape.clone(); }
}
