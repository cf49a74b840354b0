package org.resnet4j.report;

import java.io.IOException;
import java.nio.file.Path;
import org.resnet4j.io.AtomicFile;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** A line chart written as PNG (XChart, headless): training curves, gradient norms per layer. */
public final class LinePlot {
    private final String title, xLabel, yLabel;
    private final List<Object[]> series = new ArrayList<>();
    private boolean logY;
    private int width = 800, height = 500;

    public LinePlot(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Adds a named series; x and y must have the same length. Dashed series draw as dashes. */
    public LinePlot add(String name, double[] x, double[] y, boolean dashed) {
        if (x.length != y.length) throw new IllegalArgumentException("series '" + name + "': " + x.length + " x values, " + y.length + " y values");
        series.add(new Object[] {name, x.clone(), y.clone(), dashed});
        return this;
    }

    public LinePlot logY(boolean on) {
        this.logY = on;
        return this;
    }

    public LinePlot size(int w, int h) {
        this.width = w;
        this.height = h;
        return this;
    }

    /** Writes the PNG atomically (temp file, then rename). */
    public void savePng(Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(width).height(height).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        chart.getStyler().setYAxisLogarithmic(logY);
        chart.getStyler().setMarkerSize(4);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        for (Object[] s : series) {
            double[] x = (double[]) s[1], y = (double[]) s[2];
            if (x.length == 0) continue;
            XYSeries xs = chart.addSeries((String) s[0], x, y);
            xs.setMarker(x.length > 40 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
            if ((Boolean) s[3]) xs.setLineStyle(new java.awt.BasicStroke(2f, java.awt.BasicStroke.CAP_BUTT,
                    java.awt.BasicStroke.JOIN_MITER, 10f, new float[] {8f, 5f}, 0f));
        }
        AtomicFile.writeStream(file, os -> BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG));
    }
}
