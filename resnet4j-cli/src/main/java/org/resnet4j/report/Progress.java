package org.resnet4j.report;

import java.io.PrintStream;
import java.util.Locale;
import org.resnet4j.train.TrainingProgress;

/**
 * A one-line progress bar with throughput and ETA, redrawn in place on a terminal and printed
 * as occasional plain lines when output is redirected (CI logs stay short). Hand-written: the
 * common Java progress-bar library needs JLine's native terminal code, and resnet4j ships no
 * native binaries.
 */
public final class Progress {
    private final PrintStream out;
    private final String label;
    private final long total;
    private final boolean interactive;
    private final long start = System.nanoTime();
    private long lastDraw;
    private int lastDecile = -1;

    public Progress(PrintStream out, String label, long total) {
        this.out = out;
        this.label = label;
        this.total = Math.max(1, total);
        this.interactive = System.console() != null && System.getenv("CI") == null;
    }

    /** Reports {@code done} of {@code total} units (images) with a free-form suffix (loss, accuracy). */
    public void update(long done, String suffix) {
        long now = System.nanoTime();
        double secs = (now - start) / 1e9;
        double rate = done / Math.max(secs, 1e-9);
        double eta = (total - done) / Math.max(rate, 1e-9);
        int pct = (int) (100 * done / total);
        if (interactive) {
            if (now - lastDraw < 100_000_000L && done < total) return;
            lastDraw = now;
            int width = 24, filled = (int) ((long) width * done / total);
            out.printf(Locale.ROOT, "\r%s [%s%s] %3d%% %6.0f img/s ETA %s %s", label, "=".repeat(filled), " ".repeat(width - filled),
                    pct, rate, clock(eta), suffix);
            if (done >= total) out.println();
        } else {
            int decile = pct / 25;
            if (decile == lastDecile && done < total) return;
            lastDecile = decile;
            out.printf(Locale.ROOT, "%s %3d%% %6.0f img/s ETA %s %s%n", label, pct, rate, clock(eta), suffix);
        }
        out.flush();
    }

    /** Seconds as m:ss, or h:mm:ss from an hour on. */
    public static String clock(double seconds) {
        return TrainingProgress.clock(seconds);
    }

    /** A {@link TrainingProgress} that draws one of these bars per epoch on {@code out}. */
    public static TrainingProgress forTraining(PrintStream out) {
        return new TrainingProgress() {
            private Progress bar;

            @Override
            public void start(String label, long images) {
                bar = new Progress(out, label, images);
            }

            @Override
            public void update(long done, String status) {
                bar.update(done, status);
            }
        };
    }
}
