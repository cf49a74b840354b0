package org.resnet4j.experiments;

import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The degradation report: plain vs residual nets at several depths, as in He et al. 2015
 * ("Deep Residual Learning", section 4.2, Fig. 6), with the gradient-norm measurement that
 * separates an optimisation difficulty from vanishing gradients (their section 4.1), and
 * optionally the same nets without batch normalization.
 *
 * <h2>Input</h2>
 * One sub-directory of the input directory per run; its name says what the run is:
 * {@code plain<D>} or {@code resnet<D>} anywhere in it gives the family and depth (e.g.
 * {@code plain56}, {@code resnet20-cifar10}, {@code gradflow-plain56-nobn}), and {@code nobn},
 * {@code no-bn} or {@code no_bn} marks a net without batch normalization. Other names are
 * reported under their own name. Each run directory may hold:
 * <ul>
 *   <li>{@code metrics.csv}: one row per epoch, a header row, comma-separated, no quoting.
 *       Columns used: {@code epoch}, {@code train_err}, {@code test_err} (errors as fractions in
 *       [0, 1]) and, for the table, {@code train_loss}; other columns are ignored. Where
 *       {@code train_err} / {@code test_err} are missing, {@code 1 - train_acc} /
 *       {@code 1 - test_top1} are used, so the {@code metrics.csv} of {@code resnet4j train}
 *       runs work as they are.</li>
 *   <li>{@code iterations.csv} (optional): the training error per iteration (or per few),
 *       columns {@code train_err} and either {@code epoch} (fractional: 2.5 is half-way through
 *       the third epoch) or {@code iteration} (then {@code metrics.csv} must have the cumulative
 *       {@code iteration} at the end of each epoch, as {@code resnet4j train} writes it). When
 *       present it replaces the per-epoch training error in the figure, like the paper's thin
 *       curves.</li>
 *   <li>{@code gradflow*.csv} (optional): gradient CSVs as {@link GradientProbe.Result#toCsv}
 *       writes them; columns used: {@code depth} and {@code grad_norm}. A file named other than
 *       {@code gradflow.csv} is labelled with the rest of its name ({@code gradflow-epoch10.csv}:
 *       "epoch10").</li>
 * </ul>
 *
 * <h2>Output</h2>
 * {@code errors.png} (one panel per family and BN setting, training error thin and dashed,
 * test error bold, one colour per depth), {@code gradnorms.png} (gradient norm vs layer depth on
 * a log scale, plain dashed, residual solid, one panel per BN setting) and {@code report.html},
 * self-contained (both figures embedded as base64 data URIs) with the final numbers per run and
 * relative links to the CSVs. A figure without data is not written.
 */
public final class DegradationReport {
    private static final Pattern FAMILY_DEPTH = Pattern.compile("(plain|resnet)[-_]?(\\d+)");
    private static final Pattern NO_BN = Pattern.compile("no[-_]?bn");

    private DegradationReport() {}

    /** What a run directory's name says: family "plain", "resnet" or "" (unrecognized), depth 0 when unknown. */
    public record RunInfo(String name, String family, int depth, boolean batchNorm) {
        public static RunInfo parse(String name) {
            String lower = name.toLowerCase(Locale.ROOT);
            Matcher m = FAMILY_DEPTH.matcher(lower);
            boolean bn = !NO_BN.matcher(lower).find();
            return m.find() ? new RunInfo(name, m.group(1), Integer.parseInt(m.group(2)), bn) : new RunInfo(name, "", 0, bn);
        }

        /** The paper's labels: "plain-20", "ResNet-56", with " (no BN)" where it applies. */
        public String label() {
            String base = family.isEmpty() ? name : (family.equals("plain") ? "plain-" : "ResNet-") + depth;
            return batchNorm ? base : base + " (no BN)";
        }
    }

    /** One run's final numbers (NaN where the metrics lack them). */
    public record FinalRow(RunInfo run, int epochs, double trainLoss, double trainErr, double testErr, double bestTestErr,
                           List<Path> csvs) {}

    /** One gradient CSV, summarized. */
    public record GradRow(RunInfo run, String tag, Path csv, int layers, double firstGradNorm, double lastGradNorm) {}

    /** Paths written ({@code null} for a figure without data) and the tables of the HTML. */
    public record Output(Path errorsPng, Path gradnormsPng, Path html, List<FinalRow> finals, List<GradRow> gradients) {}

    private record Curves(RunInfo run, double[] epoch, double[] trainErr, double[] testErr, double[] trainX, double[] trainY) {}

    private record Grad(RunInfo run, String tag, double[] depth, double[] norm) {}

    /** Reads every run under {@code inputDir} and writes errors.png, gradnorms.png and report.html into {@code outDir}. */
    public static Output write(Path inputDir, Path outDir) throws IOException {
        if (!Files.isDirectory(inputDir)) throw new IllegalArgumentException(inputDir + ": not a directory");
        List<Path> runDirs;
        try (Stream<Path> s = Files.list(inputDir)) {
            runDirs = s.filter(Files::isDirectory).sorted().toList();
        }
        List<Curves> curves = new ArrayList<>();
        List<Grad> grads = new ArrayList<>();
        List<FinalRow> finals = new ArrayList<>();
        List<GradRow> gradRows = new ArrayList<>();
        for (Path dir : runDirs) {
            RunInfo info = RunInfo.parse(dir.getFileName().toString());
            List<Path> csvs = new ArrayList<>();
            Path metrics = dir.resolve("metrics.csv");
            Curves c = null;
            double trainLoss = Double.NaN;
            if (Files.isRegularFile(metrics)) {
                c = readCurves(info, dir);
                curves.add(c);
                csvs.add(metrics);
                if (Files.isRegularFile(dir.resolve("iterations.csv"))) csvs.add(dir.resolve("iterations.csv"));
                Csv m = Csv.read(metrics);
                if (m.has("train_loss")) trainLoss = last(m.column("train_loss"));
            }
            List<Path> gradFiles;
            try (Stream<Path> s = Files.list(dir)) {
                gradFiles = s.filter(p -> {
                    String f = p.getFileName().toString();
                    return f.startsWith("gradflow") && f.endsWith(".csv") && Files.isRegularFile(p);
                }).sorted().toList();
            }
            for (Path g : gradFiles) {
                Csv t = Csv.read(g);
                String f = g.getFileName().toString();
                String tag = f.substring("gradflow".length(), f.length() - ".csv".length()).replaceFirst("^[-_.]", "");
                double[] norm = t.column("grad_norm");
                grads.add(new Grad(info, tag, t.column("depth"), norm));
                gradRows.add(new GradRow(info, tag, g, norm.length, norm.length == 0 ? Double.NaN : norm[0], last(norm)));
                csvs.add(g);
            }
            if (c != null) {
                finals.add(new FinalRow(info, c.epoch().length == 0 ? 0 : (int) Math.round(last(c.epoch())), trainLoss,
                        last(c.trainErr()), last(c.testErr()), min(c.testErr()), List.copyOf(csvs)));
            }
        }
        if (curves.isEmpty() && grads.isEmpty()) {
            throw new IllegalArgumentException(inputDir + ": no run directories with metrics.csv or gradflow*.csv");
        }
        Map<Integer, Color> colors = depthColors(curves, grads);
        Files.createDirectories(outDir);
        Path errorsPng = null, gradPng = null;
        if (!curves.isEmpty()) {
            errorsPng = outDir.resolve("errors.png");
            Charts.writePng(errorPanels(curves, colors), 2, errorsPng);
        }
        if (!grads.isEmpty()) {
            gradPng = outDir.resolve("gradnorms.png");
            Charts.writePng(gradPanels(grads, colors), 2, gradPng);
        }
        Comparator<RunInfo> order = Comparator.comparing((RunInfo r) -> !r.batchNorm()).thenComparing(r -> r.family().isEmpty())
                .thenComparingInt(RunInfo::depth).thenComparing(RunInfo::family).thenComparing(RunInfo::name);
        finals.sort(Comparator.comparing(FinalRow::run, order));
        gradRows.sort(Comparator.comparing(GradRow::run, order).thenComparing(GradRow::tag));
        Path html = outDir.resolve("report.html");
        writeAtomically(html, html(outDir, errorsPng, gradPng, finals, gradRows));
        return new Output(errorsPng, gradPng, html, List.copyOf(finals), List.copyOf(gradRows));
    }

    // ------------------------------------------------------------ reading
    private static Curves readCurves(RunInfo info, Path dir) throws IOException {
        Csv m = Csv.read(dir.resolve("metrics.csv"));
        double[] epoch = m.column("epoch");
        double[] trainErr = errorColumn(m, "train_err", "train_acc");
        double[] testErr = errorColumn(m, "test_err", "test_top1");
        double[] trainX = epoch, trainY = trainErr;
        Path iters = dir.resolve("iterations.csv");
        if (Files.isRegularFile(iters)) {
            Csv it = Csv.read(iters);
            trainY = it.column("train_err");
            if (it.has("epoch")) {
                trainX = it.column("epoch");
            } else if (it.has("iteration") && m.has("iteration") && m.size() > 0) {
                double perEpoch = last(m.column("iteration")) / last(epoch);
                double[] x = it.column("iteration");
                for (int i = 0; i < x.length; i++) x[i] /= perEpoch;
                trainX = x;
            } else {
                throw new IllegalArgumentException(iters + ": needs an 'epoch' column, or an 'iteration' column together with "
                        + "an 'iteration' column in metrics.csv to convert iterations to epochs");
            }
        }
        return new Curves(info, epoch, trainErr, testErr, trainX, trainY);
    }

    /** An error column as a fraction, or 1 - the accuracy column when only that exists. */
    private static double[] errorColumn(Csv m, String err, String acc) {
        if (m.has(err)) return m.column(err);
        if (m.has(acc)) {
            double[] a = m.column(acc);
            for (int i = 0; i < a.length; i++) a[i] = 1 - a[i];
            return a;
        }
        throw new IllegalArgumentException(m.file + ": needs a '" + err + "' column (or '" + acc + "'); have " + m.header);
    }

    // ------------------------------------------------------------ figures
    private static Map<Integer, Color> depthColors(List<Curves> curves, List<Grad> grads) {
        TreeSet<Integer> depths = new TreeSet<>();
        curves.forEach(c -> depths.add(c.run().depth()));
        grads.forEach(g -> depths.add(g.run().depth()));
        Map<Integer, Color> out = new LinkedHashMap<>();
        for (int d : depths) out.put(d, Charts.PALETTE[out.size() % Charts.PALETTE.length]);
        return out;
    }

    /** Fig. 6: one panel per (BN, family); per run the test error bold and the training error thin dashed, same colour. */
    private static List<Charts.Panel> errorPanels(List<Curves> curves, Map<Integer, Color> colors) {
        Map<String, List<Charts.Line>> panels = new LinkedHashMap<>();
        List<Curves> sorted = new ArrayList<>(curves);
        sorted.sort(Comparator.comparing((Curves c) -> !c.run().batchNorm()).thenComparing(c -> familyRank(c.run().family()))
                .thenComparingInt(c -> c.run().depth()).thenComparing(c -> c.run().name()));
        for (Curves c : sorted) {
            RunInfo r = c.run();
            String title = (r.family().isEmpty() ? "other runs" : r.family().equals("plain") ? "plain nets" : "ResNets")
                    + (r.batchNorm() ? "" : ", no BN");
            Color col = colors.get(r.depth());
            List<Charts.Line> lines = panels.computeIfAbsent(title, k -> new ArrayList<>());
            lines.add(new Charts.Line(r.label(), c.epoch(), percent(c.testErr()), col, 2.8f, false, true));
            lines.add(new Charts.Line(r.label() + " train", c.trainX(), percent(c.trainY()), col, 1.0f, true, false));
        }
        List<Charts.Panel> out = new ArrayList<>();
        panels.forEach((title, lines) -> out.add(new Charts.Panel(title + " (dashed: training error, bold: test error)",
                "epoch", "error (%)", false, lines)));
        return out;
    }

    /** Gradient norm vs layer depth, log scale; one panel per BN setting, plain dashed and residual solid. */
    private static List<Charts.Panel> gradPanels(List<Grad> grads, Map<Integer, Color> colors) {
        Map<String, List<Charts.Line>> panels = new LinkedHashMap<>();
        List<Grad> sorted = new ArrayList<>(grads);
        sorted.sort(Comparator.comparing((Grad g) -> !g.run().batchNorm()).thenComparingInt(g -> g.run().depth())
                .thenComparing(g -> familyRank(g.run().family())).thenComparing(g -> g.run().name()).thenComparing(Grad::tag));
        for (Grad g : sorted) {
            RunInfo r = g.run();
            String title = r.batchNorm() ? "with BN" : "without BN";
            String name = r.label().replace(" (no BN)", "") + (g.tag().isEmpty() ? "" : " " + g.tag());
            panels.computeIfAbsent(title, k -> new ArrayList<>())
                    .add(new Charts.Line(name, g.depth(), g.norm(), colors.get(r.depth()), 2f, r.family().equals("plain"), true));
        }
        List<Charts.Panel> out = new ArrayList<>();
        panels.forEach((title, lines) -> out.add(new Charts.Panel("Gradient norm per layer, " + title + " (plain dashed, residual solid)",
                "layer depth (conv/linear weights, input to output)", "||dL/dW|| (log scale)", true, lines)));
        return out;
    }

    private static int familyRank(String family) {
        return family.equals("plain") ? 0 : family.equals("resnet") ? 1 : 2;
    }

    private static double[] percent(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = 100 * v[i];
        return out;
    }

    // ------------------------------------------------------------ HTML
    private static String html(Path outDir, Path errorsPng, Path gradPng, List<FinalRow> finals, List<GradRow> grads) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<title>Degradation: plain vs residual nets</title>\n<style>\n")
                .append("body{font-family:sans-serif;max-width:1320px;margin:2em auto;padding:0 1em;color:#222}\n")
                .append("table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}\n")
                .append("th{background:#f3f3f3}td.l{text-align:left}img{max-width:100%;border:1px solid #eee}\n")
                .append("</style>\n</head>\n<body>\n<h1>Degradation: plain vs residual nets</h1>\n")
                .append("<p>Training and test error of plain and residual nets of increasing depth, after He et al. 2015, ")
                .append("&ldquo;Deep Residual Learning for Image Recognition&rdquo;, section 4.2 and Fig. 6: deeper plain nets ")
                .append("have <em>higher training error</em> (the degradation problem), residual nets do not. The gradient norms ")
                .append("per layer test the paper's argument (section 4.1) that with batch normalization the plain nets' gradients ")
                .append("stay healthy, so degradation is an optimisation difficulty rather than vanishing gradients.</p>\n");
        h.append("<h2>Training and test error</h2>\n");
        if (errorsPng != null) h.append(img(errorsPng, "training and test error per epoch")).append('\n');
        else h.append("<p>No metrics.csv found.</p>\n");
        h.append("<h2>Gradient norm per layer</h2>\n");
        if (gradPng != null) h.append(img(gradPng, "gradient norm per layer")).append('\n');
        else h.append("<p>No gradflow*.csv found.</p>\n");

        if (!finals.isEmpty()) {
            h.append("<h2>Final numbers</h2>\n<table>\n<tr><th>run</th><th>net</th><th>BN</th><th>epochs</th>")
                    .append("<th>final train loss</th><th>final train error</th><th>final test error</th><th>best test error</th>")
                    .append("<th>data</th></tr>\n");
            for (FinalRow f : finals) {
                h.append("<tr><td class=\"l\">").append(esc(f.run().name())).append("</td><td class=\"l\">")
                        .append(esc(f.run().label().replace(" (no BN)", ""))).append("</td><td>")
                        .append(f.run().batchNorm() ? "yes" : "no").append("</td><td>").append(f.epochs()).append("</td><td>")
                        .append(fixed(f.trainLoss(), 4)).append("</td><td>").append(pct(f.trainErr())).append("</td><td>")
                        .append(pct(f.testErr())).append("</td><td>").append(pct(f.bestTestErr())).append("</td><td class=\"l\">")
                        .append(links(outDir, f.csvs())).append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        if (!grads.isEmpty()) {
            h.append("<h2>Gradient measurements</h2>\n<table>\n<tr><th>run</th><th>net</th><th>BN</th><th>measurement</th>")
                    .append("<th>layers</th><th>||grad|| first layer</th><th>||grad|| last layer</th><th>first / last</th>")
                    .append("<th>data</th></tr>\n");
            for (GradRow g : grads) {
                h.append("<tr><td class=\"l\">").append(esc(g.run().name())).append("</td><td class=\"l\">")
                        .append(esc(g.run().label().replace(" (no BN)", ""))).append("</td><td>")
                        .append(g.run().batchNorm() ? "yes" : "no").append("</td><td class=\"l\">")
                        .append(esc(g.tag().isEmpty() ? "gradflow" : g.tag())).append("</td><td>").append(g.layers()).append("</td><td>")
                        .append(sci(g.firstGradNorm())).append("</td><td>").append(sci(g.lastGradNorm())).append("</td><td>")
                        .append(sci(g.firstGradNorm() / g.lastGradNorm())).append("</td><td class=\"l\">")
                        .append(links(outDir, List.of(g.csv()))).append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<p>Errors are top-1 error rates. Gradient norms are L2 norms of dL/dW for each conv and linear weight, ")
                .append("for one batch, mean cross-entropy loss.</p>\n</body>\n</html>\n");
        return h.toString();
    }

    private static String img(Path png, String alt) throws IOException {
        return "<img src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(png))
                + "\" alt=\"" + esc(alt) + "\">";
    }

    private static String links(Path outDir, List<Path> csvs) {
        StringBuilder sb = new StringBuilder();
        for (Path p : csvs) {
            String rel = outDir.toAbsolutePath().normalize().relativize(p.toAbsolutePath().normalize()).toString().replace('\\', '/');
            if (!sb.isEmpty()) sb.append(' ');
            sb.append("<a href=\"").append(esc(rel.replace(" ", "%20"))).append("\">").append(esc(p.getFileName().toString())).append("</a>");
        }
        return sb.toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String pct(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f%%", 100 * v) : "&ndash;";
    }

    private static String fixed(double v, int digits) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + digits + "f", v) : "&ndash;";
    }

    private static String sci(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3e", v) : "&ndash;";
    }

    private static double last(double[] v) {
        return v.length == 0 ? Double.NaN : v[v.length - 1];
    }

    private static double min(double[] v) {
        double m = Double.NaN;
        for (double x : v) if (Double.isFinite(x) && !(x >= m)) m = x;
        return m;
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        // a plain name, not createTempFile: that one is owner-only (0600), and the report is meant to be shared
        Path tmp = dir.resolve("." + file.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
