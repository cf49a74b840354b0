package org.resnet4j.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import org.resnet4j.io.AtomicFile;
import java.util.List;
import javax.imageio.ImageIO;
import org.resnet4j.tensor.Tensor;

/** A PNG grid of images, each captioned with its predicted class (green when right, red when wrong). */
public final class PredictionGrid {
    private PredictionGrid() {}

    /**
     * @param images CHW tensors in [0, 1] (1 or 3 channels)
     * @param predicted, actual class indices per image
     */
    public static void save(Path file, List<Tensor> images, int[] predicted, int[] actual, List<String> classes,
                            int columns, int scale) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int n = images.size(), rows = (n + columns - 1) / columns;
        int h = images.get(0).dim(1) * scale, w = images.get(0).dim(2) * scale;
        int cellW = Math.max(w, 110) + 10, cellH = h + 34;
        BufferedImage out = new BufferedImage(columns * cellW, rows * cellH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), out.getHeight());
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i < n; i++) {
            int x0 = (i % columns) * cellW + (cellW - w) / 2, y0 = (i / columns) * cellH + 4;
            g.drawImage(toImage(images.get(i), scale), x0, y0, null);
            boolean right = predicted[i] == actual[i];
            g.setColor(right ? new Color(0, 120, 0) : new Color(190, 0, 0));
            String text = classes.get(predicted[i]) + (right ? "" : " (" + classes.get(actual[i]) + ")");
            int tw = g.getFontMetrics().stringWidth(text);
            g.drawString(text, (i % columns) * cellW + Math.max(2, (cellW - tw) / 2), y0 + h + 16);
        }
        g.dispose();
        AtomicFile.writeStream(file, os -> ImageIO.write(out, "png", os));
    }

    private static BufferedImage toImage(Tensor chw, int scale) {
        int c = chw.dim(0), h = chw.dim(1), w = chw.dim(2);
        float[] d = chw.data();
        BufferedImage img = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h * scale; y++)
            for (int x = 0; x < w * scale; x++) {
                int p = (y / scale) * w + x / scale;
                int r = byteOf(d[p]), gg = c == 3 ? byteOf(d[h * w + p]) : r, b = c == 3 ? byteOf(d[2 * h * w + p]) : r;
                img.setRGB(x, y, (r << 16) | (gg << 8) | b);
            }
        return img;
    }

    private static int byteOf(float v) {
        return Math.max(0, Math.min(255, Math.round(v * 255)));
    }
}
