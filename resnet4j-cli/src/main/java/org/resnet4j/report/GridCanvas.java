package org.resnet4j.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

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
}
