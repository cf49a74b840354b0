package org.resnet4j.models;

/**
 * What varies between uses of one architecture: classes, input channels, and the torchvision
 * options (zero_init_residual, replace_stride_with_dilation) plus the CIFAR shortcut type.
 *
 * @param shortcut CIFAR nets only: {@code A} zero-padding identity (the paper's default for
 *                 CIFAR), {@code B} 1x1 projection where the shape changes
 * @param dropout  probability of dropout on the pooled features before the classifier (0: none);
 *                 parameter-free, so the state_dict keys stay torchvision's
 */
public record ModelConfig(int numClasses, int inChannels, boolean zeroInitResidual,
                          boolean[] replaceStrideWithDilation, Shortcut shortcut, float dropout) {
    public enum Shortcut { A, B }

    public ModelConfig {
        if (numClasses < 1) throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        if (inChannels < 1) throw new IllegalArgumentException("inChannels must be >= 1, got " + inChannels);
        if (replaceStrideWithDilation == null) replaceStrideWithDilation = new boolean[3];
        if (replaceStrideWithDilation.length != 3) {
            throw new IllegalArgumentException("replaceStrideWithDilation needs 3 entries (layer2..layer4), got "
                    + replaceStrideWithDilation.length);
        }
        replaceStrideWithDilation = replaceStrideWithDilation.clone();
        if (shortcut == null) shortcut = Shortcut.A;
        if (dropout < 0f || dropout >= 1f) throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
    }

    public static ModelConfig defaults(int numClasses) {
        return new ModelConfig(numClasses, 3, false, null, Shortcut.A, 0f);
    }

    public ModelConfig withInChannels(int c) {
        return new ModelConfig(numClasses, c, zeroInitResidual, replaceStrideWithDilation, shortcut, dropout);
    }

    public ModelConfig withClasses(int n) {
        return new ModelConfig(n, inChannels, zeroInitResidual, replaceStrideWithDilation, shortcut, dropout);
    }

    public ModelConfig withZeroInitResidual(boolean z) {
        return new ModelConfig(numClasses, inChannels, z, replaceStrideWithDilation, shortcut, dropout);
    }

    public ModelConfig withDilation(boolean layer2, boolean layer3, boolean layer4) {
        return new ModelConfig(numClasses, inChannels, zeroInitResidual, new boolean[] {layer2, layer3, layer4}, shortcut, dropout);
    }

    public ModelConfig withDropout(float p) {
        return new ModelConfig(numClasses, inChannels, zeroInitResidual, replaceStrideWithDilation, shortcut, p);
    }

    public ModelConfig withShortcut(Shortcut s) {
        return new ModelConfig(numClasses, inChannels, zeroInitResidual, replaceStrideWithDilation, s, dropout);
    }
}
