package org.resnet4j.metrics;

/**
 * An axis-aligned box as COCO's JSON writes it: top-left corner, width and height, in pixels
 * ({@code [x, y, w, h]}). torchvision's detection models return corners ({@code x1, y1, x2,
 * y2}); {@link #fromCorners} converts them as torchvision's {@code coco_eval.convert_to_xywh}
 * does ({@code w = x2 - x1}, {@code h = y2 - y1}).
 *
 * @param x left edge
 * @param y top edge
 * @param width width, at least 0
 * @param height height, at least 0
 */
public record CocoBox(double x, double y, double width, double height) {

    /** Checks that every value is finite and that the width and height are not negative. */
    public CocoBox {
        check("x", x);
        check("y", y);
        check("width", width);
        check("height", height);
        // pycocotools does not check; a negative side only ever comes from swapped corners
        if (width < 0) throw new IllegalArgumentException("box width is negative: " + width + " (corners swapped?)");
        if (height < 0) throw new IllegalArgumentException("box height is negative: " + height + " (corners swapped?)");
    }

    /** The box with corners {@code (x1, y1)} and {@code (x2, y2)}. */
    public static CocoBox fromCorners(double x1, double y1, double x2, double y2) {
        return new CocoBox(x1, y1, x2 - x1, y2 - y1);
    }

    /** {@code width * height}: what pycocotools' {@code loadRes} sets as a detection's area. */
    public double area() {
        return width * height;
    }

    private static void check(String field, double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException("box " + field + " is not finite: " + v);
    }
}
