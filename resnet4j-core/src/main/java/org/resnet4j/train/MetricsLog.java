package org.resnet4j.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.resnet4j.io.json.Json;

/**
 * Per-epoch metrics appended to {@code metrics.csv} and {@code metrics.jsonl} in a run directory.
 * The column set is fixed by the first row. Rows already on disk are kept (a resumed run appends).
 */
public final class MetricsLog {
    private final Path csv, jsonl;
    private List<String> columns;

    public MetricsLog(Path runDir) throws IOException {
        Files.createDirectories(runDir);
        this.csv = runDir.resolve("metrics.csv");
        this.jsonl = runDir.resolve("metrics.jsonl");
        if (Files.exists(csv)) {
            List<String> lines = Files.readAllLines(csv);
            if (!lines.isEmpty()) columns = List.of(lines.get(0).split(","));
        }
    }

    /** Drops rows whose epoch is >= {@code epoch} (a resumed run rewrites what it redoes). */
    public void truncateFrom(int epoch) throws IOException {
        for (Path p : List.of(csv, jsonl)) {
            if (!Files.exists(p)) continue;
            List<String> keep = new ArrayList<>();
            List<String> lines = Files.readAllLines(p);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (p == csv && i == 0) {
                    keep.add(line);
                    continue;
                }
                int e = p == csv ? (int) Double.parseDouble(line.split(",")[0])
                        : ((Number) Json.parseObject(line).get("epoch")).intValue();
                if (e < epoch) keep.add(line);
            }
            Files.write(p, keep, StandardCharsets.UTF_8);
        }
    }

    public void append(LinkedHashMap<String, Object> row) throws IOException {
        if (columns == null) {
            columns = new ArrayList<>(row.keySet());
            Files.writeString(csv, String.join(",", columns) + "\n", StandardCharsets.UTF_8);
        }
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < columns.size(); i++) {
            Object v = row.get(columns.get(i));
            if (i > 0) line.append(',');
            if (v instanceof Double d) line.append(String.format(Locale.ROOT, "%.6g", d));
            else if (v instanceof Float f) line.append(String.format(Locale.ROOT, "%.6g", f));
            else if (v != null) line.append(v);
        }
        Files.writeString(csv, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        Files.writeString(jsonl, Json.write(row) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** Reads a numeric column back from metrics.csv (for plots). */
    public static double[] column(Path runDir, String name) throws IOException {
        List<String> lines = Files.readAllLines(runDir.resolve("metrics.csv"));
        List<String> header = List.of(lines.get(0).split(","));
        int idx = header.indexOf(name);
        if (idx < 0) throw new IllegalArgumentException(runDir.resolve("metrics.csv") + ": no column '" + name + "' (have " + header + ")");
        double[] out = new double[lines.size() - 1];
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split(",", -1);
            out[i - 1] = idx < f.length && !f[idx].isEmpty() ? Double.parseDouble(f[idx]) : Double.NaN;
        }
        return out;
    }
}
