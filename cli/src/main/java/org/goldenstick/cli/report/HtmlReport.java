package org.goldenstick.cli.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.goldenstick.formats.AtomicFiles;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The {@code --report DIR} page of a command: an {@code index.html} with tables of facts and PNG charts (drawn with
 * JFreeChart, headless), written atomically as a new folder ({@link AtomicFiles#stageFolder}: nothing appears at {@code DIR}
 * unless the whole page was written). Non-finite values are left out of charts and shown as "n/a" in tables.
 *
 * <pre>{@code
 * new HtmlReport("gstick train: lenet on digits")
 *     .facts("Result", Map.of("test accuracy", "98.89 %"))
 *     .lineChart("loss", "Training loss", "epoch", "loss", Map.of("train", new double[][] {{1, 2}, {0.9, 0.4}}))
 *     .write(Path.of("runs/report"));
 * }</pre>
 */
public final class HtmlReport {
    private static final int WIDTH = 720, HEIGHT = 400;
    private static final Pattern FILE_NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");

    private sealed interface Part permits Facts, Chart, Note {}

    private record Facts(String heading, Map<String, String> rows) implements Part {}

    private record Chart(String file, String title, JFreeChart chart) implements Part {}

    private record Note(String text) implements Part {}

    private final String title;
    private final List<Part> parts = new ArrayList<>();

    public HtmlReport(String title) {
        this.title = title;
    }

    /** A two-column table under {@code heading}, rows in the map's order. */
    public HtmlReport facts(String heading, Map<String, ?> rows) {
        Map<String, String> text = new LinkedHashMap<>();
        rows.forEach((k, v) -> text.put(k, v instanceof Double d && !Double.isFinite(d) ? "n/a" : String.valueOf(v)));
        parts.add(new Facts(heading, text));
        return this;
    }

    /** A paragraph of plain text. */
    public HtmlReport note(String text) {
        parts.add(new Note(text));
        return this;
    }

    /**
     * A line chart saved as {@code name.png}: each series is {@code {xs, ys}} of equal length; non-finite points are
     * skipped.
     */
    public HtmlReport lineChart(String name, String chartTitle, String xLabel, String yLabel, Map<String, double[][]> series) {
        XYSeriesCollection data = new XYSeriesCollection();
        series.forEach((label, xy) -> {
            if (xy.length != 2 || xy[0].length != xy[1].length) throw new IllegalArgumentException("chart '" + name + "', series '" + label + "': need {xs, ys} of equal length");
            XYSeries s = new XYSeries(label);
            for (int i = 0; i < xy[0].length; i++) if (Double.isFinite(xy[0][i]) && Double.isFinite(xy[1][i])) s.add(xy[0][i], xy[1][i]);
            data.addSeries(s);
        });
        JFreeChart c = ChartFactory.createXYLineChart(chartTitle, xLabel, yLabel, data, PlotOrientation.VERTICAL, series.size() > 1, false, false);
        XYPlot plot = c.getXYPlot();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < series.size(); i++) r.setSeriesStroke(i, new BasicStroke(2f));
        plot.setRenderer(r);
        style(c);
        return add(name, chartTitle, c);
    }

    /**
     * A bar chart saved as {@code name.png}: one group of bars per category, one bar per series ({@code values[i]} for
     * {@code categories[i]}); non-finite values are left out.
     */
    public HtmlReport barChart(String name, String chartTitle, String yLabel, List<String> categories, Map<String, double[]> series) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        series.forEach((label, values) -> {
            if (values.length != categories.size()) throw new IllegalArgumentException("chart '" + name + "', series '" + label + "': " + values.length + " values for " + categories.size() + " categories");
            for (int i = 0; i < values.length; i++) if (Double.isFinite(values[i])) data.addValue(values[i], label, categories.get(i));
        });
        JFreeChart c = ChartFactory.createBarChart(chartTitle, null, yLabel, data, PlotOrientation.VERTICAL, series.size() > 1, false, false);
        CategoryPlot plot = c.getCategoryPlot();
        boolean longLabels = categories.stream().anyMatch(label -> label.length() > 12);
        if (categories.size() > 6 || (longLabels && categories.size() > 3)) plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_90);
        plot.getDomainAxis().setMaximumCategoryLabelWidthRatio(4f);
        style(c);
        return add(name, chartTitle, c);
    }

    private HtmlReport add(String name, String chartTitle, JFreeChart c) {
        if (!FILE_NAME.matcher(name).matches()) throw new IllegalArgumentException("chart name '" + name + "': use lower-case letters, digits and '-'");
        for (Part p : parts) if (p instanceof Chart ch && ch.file().equals(name + ".png")) throw new IllegalArgumentException("chart name '" + name + "' used twice");
        parts.add(new Chart(name + ".png", chartTitle, c));
        return this;
    }

    private static void style(JFreeChart c) {
        c.setBackgroundPaint(Color.WHITE);
        c.getPlot().setBackgroundPaint(new Color(0xF6F6F6));
    }

    /** Writes {@code dir/index.html} and the charts' PNGs; {@code dir} must not exist. Returns the page's path. */
    public Path write(Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        AtomicFiles.checkFolderTarget(dir, AtomicFiles.Existing.FAIL, "--report");
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").append(escape(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;max-width:780px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}")
                .append("td{border-bottom:1px solid #ddd;padding:0.25em 1em 0.25em 0}td:first-child{color:#555}img{display:block;margin:0.5em 0 1.5em}</style>\n")
                .append("</head>\n<body>\n<h1>").append(escape(title)).append("</h1>\n");
        try (AtomicFiles.StagedFolder out = AtomicFiles.stageFolder(dir, AtomicFiles.Existing.FAIL)) {
            for (Part p : parts) {
                switch (p) {
                    case Facts f -> {
                        html.append("<h2>").append(escape(f.heading())).append("</h2>\n<table>\n");
                        f.rows().forEach((k, v) -> html.append("<tr><td>").append(escape(k)).append("</td><td>").append(escape(v)).append("</td></tr>\n"));
                        html.append("</table>\n");
                    }
                    case Note n -> html.append("<p>").append(escape(n.text())).append("</p>\n");
                    case Chart ch -> {
                        try (OutputStream os = Files.newOutputStream(out.dir().resolve(ch.file()))) {
                            ChartUtils.writeChartAsPNG(os, ch.chart(), WIDTH, HEIGHT);
                        }
                        html.append("<h2>").append(escape(ch.title())).append("</h2>\n<img src=\"").append(ch.file()).append("\" alt=\"")
                                .append(escape(ch.title())).append("\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT).append("\">\n");
                    }
                }
            }
            html.append("</body>\n</html>\n");
            Files.writeString(out.dir().resolve("index.html"), html, StandardCharsets.UTF_8);
            out.commit();
        }
        return dir.resolve("index.html");
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** {@code {1, 2, …, n}}: x values for per-epoch series. */
    public static double[] oneTo(int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = i + 1;
        return x;
    }
}
