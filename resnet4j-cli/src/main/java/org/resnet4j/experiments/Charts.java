package org.resnet4j.experiments;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Multi-panel line charts with per-series colour, width and dash, which the figures of the
 * degradation report need (Fig. 6 of He et al. 2015 draws training error thin and dashed and
 * test error bold, one colour per depth) and {@code report.LinePlot} does not expose.
 */
final class Charts {
    private Charts() {}

    /** A colour per depth, distinguishable side by side (Okabe-Ito's colour-blind-safe set). */
    static final Color[] PALETTE = {
        new Color(0, 114, 178), new Color(213, 94, 0), new Color(0, 158, 115), new Color(204, 121, 167),
        new Color(230, 159, 0), new Color(86, 180, 233), new Color(0, 0, 0), new Color(240, 228, 66),
    };

    record Line(String name, double[] x, double[] y, Color color, float width, boolean dashed, boolean inLegend) {}

    record Panel(String title, String xLabel, String yLabel, boolean logY, List<Line> lines) {}

    static final int PANEL_W = 640, PANEL_H = 440;

    /** Draws the panels in a grid of at most {@code columns} columns and writes one PNG, atomically. */
    static void writePng(List<Panel> panels, int columns, Path file) throws IOException {
        if (panels.isEmpty()) throw new IllegalArgumentException("nothing to draw for " + file);
        System.setProperty("java.awt.headless", "true");
        int cols = Math.min(columns, panels.size()), rows = (panels.size() + cols - 1) / cols;
        BufferedImage out = new BufferedImage(cols * PANEL_W, rows * PANEL_H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), out.getHeight());
        for (int i = 0; i < panels.size(); i++) {
            g.drawImage(render(panels.get(i)), (i % cols) * PANEL_W, (i / cols) * PANEL_H, null);
        }
        g.dispose();
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".chart", ".png");
        try {
            if (!ImageIO.write(out, "png", tmp.toFile())) throw new IOException("no PNG writer available");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static BufferedImage render(Panel p) {
        XYChart chart = new XYChartBuilder().width(PANEL_W).height(PANEL_H).title(p.title())
                .xAxisTitle(p.xLabel()).yAxisTitle(p.yLabel()).build();
        var st = chart.getStyler();
        st.setLegendPosition(Styler.LegendPosition.OutsideS);
        st.setLegendLayout(Styler.LegendLayout.Horizontal);
        st.setYAxisLogarithmic(p.logY());
        st.setChartBackgroundColor(Color.WHITE);
        st.setMarkerSize(4);
        int drawn = 0;
        for (Line l : p.lines()) {
            double[][] xy = usable(l.x(), l.y(), p.logY());
            if (xy[0].length == 0) continue;
            XYSeries s = chart.addSeries(uniqueName(chart, l.name()), xy[0], xy[1]);
            s.setMarker(xy[0].length > 30 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
            s.setLineColor(l.color());
            s.setMarkerColor(l.color());
            s.setLineStyle(l.dashed()
                    ? new BasicStroke(l.width(), BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f)
                    : new BasicStroke(l.width()));
            s.setShowInLegend(l.inLegend());
            drawn++;
        }
        if (drawn == 0) {
            // XChart cannot lay out an empty chart: one invisible point keeps the axes and title.
            XYSeries s = chart.addSeries("(no data)", new double[] {0}, new double[] {1});
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(Color.WHITE);
        }
        return BitmapEncoder.getBufferedImage(chart);
    }

    /** Drops non-finite points, and on a log axis non-positive ones, which XChart rejects. */
    private static double[][] usable(double[] x, double[] y, boolean logY) {
        List<double[]> keep = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (Double.isFinite(x[i]) && Double.isFinite(y[i]) && (!logY || y[i] > 0)) keep.add(new double[] {x[i], y[i]});
        }
        double[][] out = new double[2][keep.size()];
        for (int i = 0; i < keep.size(); i++) {
            out[0][i] = keep.get(i)[0];
            out[1][i] = keep.get(i)[1];
        }
        return out;
    }

    /** XChart keys series by name; hidden duplicates (train curves) get invisible suffixes. */
    private static String uniqueName(XYChart chart, String name) {
        String n = name;
        while (chart.getSeriesMap().containsKey(n)) n += " ";
        return n;
    }
}
