package org.resnet4j.models;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.resnet4j.autograd.GradMode;
import org.resnet4j.autograd.Variable;
import org.resnet4j.nn.BatchNorm2d;
import org.resnet4j.nn.Module;
import org.resnet4j.tensor.Tensor;

/** The fused inference path (BN folded, add and ReLU in the conv epilogue) against the module-by-module path. */
class FusionTest {
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"resnet18, A, 64", "resnet50, A, 64", "resnext50_32x4d, A, 64", "resnet20, A, 32", "resnet20, B, 32", "plain20, A, 32"})
    void fusedEqualsUnfused(String name, String shortcut, int size) {
        Module m = Models.create(name, ModelConfig.defaults(10).withShortcut(ModelConfig.Shortcut.valueOf(shortcut)));
        // random running statistics and affine parameters, so the folding is really exercised
        long seed = 11;
        for (Module sub : m.namedModules().values()) {
            if (sub instanceof BatchNorm2d bn) {
                bn.runningMean.copyFrom(Tensor.uniform(seed++, -0.5f, 0.5f, bn.channels));
                bn.runningVar.copyFrom(Tensor.uniform(seed++, 0.5f, 2f, bn.channels));
                bn.weight.value().copyFrom(Tensor.uniform(seed++, 0.5f, 1.5f, bn.channels));
                bn.bias.value().copyFrom(Tensor.uniform(seed++, -0.2f, 0.2f, bn.channels));
            }
        }
        m.eval();
        Tensor x = Tensor.randn(3, 3, 3, size, size);
        Tensor unfused = m.call(Variable.constant(x)).value(); // grad mode on: module by module
        Tensor fused;
        try (var g = GradMode.noGrad()) {
            fused = m.call(Variable.constant(x)).value();
        }
        double err = Tensor.maxAbsDiff(unfused, fused) / unfused.maxAbs();
        assertTrue(err < 1e-5, name + ": relative difference " + err);
    }
}
