package org.resnet4j.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.resnet4j.data.ImageDecoder;
import org.resnet4j.data.dense.DenseTarget;
import org.resnet4j.detection.Detections;
import org.resnet4j.tensor.Tensor;

/**
 * Detections drawn on their images: one image with labelled boxes ({@link #draw}, torchvision's
 * {@code draw_bounding_boxes}), and a PNG grid of test images with their detections over the
 * ground truth (thin white outlines), the detector's counterpart of {@link PredictionGrid}.
 */
public final class DetectionGrid {
    private DetectionGrid() {}

    /** The image with each box outlined in its class's colour and captioned with the class and score. */
    public static BufferedImage draw(Tensor img, Detections d, List<String> names) {
        return draw(img, d, names, null, 1);
    }

    /**
     * As {@link #draw(Tensor, Detections, List)}, enlarged {@code scale} times, with the ground
     * truth's boxes (null: none) outlined thinly in white beneath the detections.
     */
    public static BufferedImage draw(Tensor img, Detections d, List<String> names, DenseTarget truth, int scale) {
        System.setProperty("java.awt.headless", "true");
        BufferedImage canvas = ImageDecoder.toImage(img, scale);
        Graphics2D g = canvas.createGraphics();
        int w = canvas.getWidth();
        if (truth != null) {
            g.setColor(Color.WHITE);
            g.setStroke(new BasicStroke(1f));
            for (int i = 0; i < truth.count(); i++) {
                float[] b = truth.box(i);
                g.drawRect(Math.round(b[0] * scale), Math.round(b[1] * scale), Math.max(1, Math.round((b[2] - b[0]) * scale)),
                        Math.max(1, Math.round((b[3] - b[1]) * scale)));
            }
        }
        g.setStroke(new BasicStroke(Math.max(1f, w / 320f)));
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.max(10, w / 48)));
        float[] b = d.boxes().data(), s = d.scores().data();
        for (int i = d.size() - 1; i >= 0; i--) { // best last, so on top
            Color c = Color.getHSBColor((d.labels()[i] * 0.618034f) % 1f, 0.85f, 1f);
            g.setColor(c);
            int x0 = Math.round(b[4 * i] * scale), y0 = Math.round(b[4 * i + 1] * scale);
            int x1 = Math.round(b[4 * i + 2] * scale), y1 = Math.round(b[4 * i + 3] * scale);
            g.drawRect(x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0));
            String caption = String.format(Locale.ROOT, "%s %.2f", name(names, d.labels()[i]), s[i]);
            int tw = g.getFontMetrics().stringWidth(caption), th = g.getFontMetrics().getHeight();
            int ty = Math.max(th, y0);
            g.fillRect(x0, ty - th, tw + 4, th);
            g.setColor(Color.BLACK);
            g.drawString(caption, x0 + 2, ty - g.getFontMetrics().getDescent());
        }
        g.dispose();
        return canvas;
    }

    static String name(List<String> names, int label) {
        return names != null && label < names.size() ? names.get(label) : "class " + label;
    }

    /**
     * A grid of {@code columns} columns: each image (enlarged so the smaller side is at least 256
     * pixels) with its detections and ground truth, captioned with how many of each.
     */
    public static void save(Path file, List<Tensor> images, List<Detections> detections, List<DenseTarget> truths, List<String> names,
                            int columns) throws IOException {
        List<BufferedImage> cells = new java.util.ArrayList<>();
        List<String> captions = new java.util.ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            Tensor img = images.get(i);
            int scale = Math.max(1, (int) Math.ceil(256.0 / Math.min(img.dim(1), img.dim(2))));
            cells.add(draw(img, detections.get(i), names, truths.get(i), scale));
            captions.add(detections.get(i).size() + " shown, " + truths.get(i).count() + " objects");
        }
        GridCanvas.save(file, cells, captions, columns, 12);
    }
}
