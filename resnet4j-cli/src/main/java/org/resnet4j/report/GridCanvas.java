package org.resnet4j.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.resnet4j.io.AtomicFile;

/** The white page the prediction grids draw their cells and captions on. */
final class GridCanvas {
    private GridCanvas() {}

    /** Graphics on {@code page}, filled white, with anti-aliased captions in a plain sans-serif of {@code fontSize}. */
    static Graphics2D open(BufferedImage page, int fontSize) {
        Graphics2D g = page.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, page.getWidth(), page.getHeight());
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, fontSize));
        return g;
    }

    /**
     * Cells laid out {@code columns} to a row on a white page, each captioned beneath in dark grey,
     * written as a PNG (atomically: a reader never sees half a file).
     */
    static void save(Path file, List<BufferedImage> cells, List<String> captions, int columns, int fontSize) throws IOException {
        int n = cells.size(), rows = (n + columns - 1) / columns, cellW = 0, cellH = 0;
        for (BufferedImage c : cells) {
            cellW = Math.max(cellW, c.getWidth() + 10);
            cellH = Math.max(cellH, c.getHeight() + 24);
        }
        BufferedImage out = new BufferedImage(columns * cellW, rows * cellH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = open(out, fontSize);
        for (int i = 0; i < n; i++) {
            int x0 = (i % columns) * cellW + 5, y0 = (i / columns) * cellH + 4;
            g.drawImage(cells.get(i), x0, y0, null);
            g.setColor(Color.DARK_GRAY);
            g.drawString(captions.get(i), x0, y0 + cells.get(i).getHeight() + 15);
        }
        g.dispose();
        AtomicFile.writeStream(file, os -> ImageIO.write(out, "png", os));
    }
}
