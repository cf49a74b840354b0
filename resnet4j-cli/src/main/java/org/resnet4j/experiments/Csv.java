package org.resnet4j.experiments;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal reader for the plain CSV files resnet4j writes (a header row, comma-separated fields,
 * no quoting): metrics.csv and the gradient CSVs. Errors name the file and line.
 */
final class Csv {
    final Path file;
    final List<String> header;
    final List<String[]> rows;

    private Csv(Path file, List<String> header, List<String[]> rows) {
        this.file = file;
        this.header = header;
        this.rows = rows;
    }

    static Csv read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        if (lines.isEmpty() || lines.get(0).isBlank()) throw new IllegalArgumentException(file + ": empty file, expected a header row");
        List<String> header = new ArrayList<>();
        for (String h : lines.get(0).split(",", -1)) header.add(h.strip());
        List<String[]> rows = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            String[] f = lines.get(i).split(",", -1);
            if (f.length != header.size()) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": " + f.length + " fields, the header has " + header.size());
            }
            rows.add(f);
        }
        return new Csv(file, List.copyOf(header), rows);
    }

    boolean has(String column) {
        return header.contains(column);
    }

    int size() {
        return rows.size();
    }

    String text(int row, String column) {
        return rows.get(row)[index(column)].strip();
    }

    /** A numeric column; empty fields read as NaN. */
    double[] column(String column) {
        int idx = index(column);
        double[] out = new double[rows.size()];
        for (int i = 0; i < out.length; i++) {
            String f = rows.get(i)[idx].strip();
            try {
                out[i] = f.isEmpty() ? Double.NaN : Double.parseDouble(f);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + ":" + (i + 2) + ": column '" + column + "' is not a number: '" + f + "'");
            }
        }
        return out;
    }

    private int index(String column) {
        int idx = header.indexOf(column);
        if (idx < 0) throw new IllegalArgumentException(file + ": no column '" + column + "' (have " + header + ")");
        return idx;
    }
}
