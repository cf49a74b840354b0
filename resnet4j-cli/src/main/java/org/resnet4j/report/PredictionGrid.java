package org.resnet4j.report;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import org.resnet4j.io.AtomicFile;
import java.util.List;
import javax.imageio.ImageIO;
import org.resnet4j.data.ImageDecoder;
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
        Graphics2D g = GridCanvas.open(out, 11);
        for (int i = 0; i < n; i++) {
            int x0 = (i % columns) * cellW + (cellW - w) / 2, y0 = (i / columns) * cellH + 4;
            g.drawImage(ImageDecoder.toImage(images.get(i), scale), x0, y0, null);
            boolean right = predicted[i] == actual[i];
            g.setColor(right ? new Color(0, 120, 0) : new Color(190, 0, 0));
            String text = classes.get(predicted[i]) + (right ? "" : " (" + classes.get(actual[i]) + ")");
            int tw = g.getFontMetrics().stringWidth(text);
            g.drawString(text, (i % columns) * cellW + Math.max(2, (cellW - tw) / 2), y0 + h + 16);
        }
        g.dispose();
        AtomicFile.writeStream(file, os -> ImageIO.write(out, "png", os));
    }
}
