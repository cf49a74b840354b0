package org.resnet4j.detection.ops;

/** How a loss over many elements is reduced, as torchvision's {@code reduction} argument: 'none', 'mean' or 'sum'. */
public enum Reduction {
    /** One loss per element, in the input's shape (less the box axis for box losses). */
    NONE,
    /** The average, a 0-d value. */
    MEAN,
    /** The sum, a 0-d value. */
    SUM;

    /** 'none', 'mean' or 'sum', as torchvision spells them. */
    public static Reduction of(String name) {
        return switch (name) {
            case "none" -> NONE;
            case "mean" -> MEAN;
            case "sum" -> SUM;
            default -> throw new IllegalArgumentException("reduction must be 'none', 'mean' or 'sum', got '" + name + "'");
        };
    }
}
