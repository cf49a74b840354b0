package org.resnet4j.train;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.resnet4j.io.AtomicFile;
import org.resnet4j.nn.Module;

/**
 * The checkpoints of one run in one directory:
 *
 * <pre>
 *   last.safetensors         the newest state (resume from here)
 *   epoch-NNNN.safetensors   one per epoch, only the newest keepLast kept
 *   best.safetensors         the state with the best metric so far
 * </pre>
 *
 * Each is written atomically; the state is serialized once per save and the other names are
 * hard links to that file (a copy where the file system has no links), each put in place with
 * an atomic rename, so a crash at any point leaves every name either old or new, never torn.
 */
public final class CheckpointManager {
    public static final String LAST = "last.safetensors", BEST = "best.safetensors";
    private static final Pattern EPOCH = Pattern.compile("epoch-(\\d+)\\.safetensors");
    /** Temp names of SafeTensors.write and of this class: ".<name>.<hex>.tmp". */
    private static final Pattern TEMP = Pattern.compile("\\.(last|best|epoch-\\d+)\\.safetensors\\.[0-9a-f]+\\.tmp");
    private final Path dir;
    private final int keepLast;
    private final boolean higherIsBetter;

    /** Higher metric is better (accuracy). */
    public CheckpointManager(Path dir, int keepLast) throws IOException {
        this(dir, keepLast, true);
    }

    /**
     * Creates {@code dir} if needed and removes temp files a killed process may have left there
     * (only names this class and SafeTensors.write produce).
     *
     * @param keepLast epoch files to keep; 0 writes none
     * @param higherIsBetter true for accuracy-like metrics, false for losses
     */
    public CheckpointManager(Path dir, int keepLast, boolean higherIsBetter) throws IOException {
        if (keepLast < 0) throw new IllegalArgumentException("keepLast must be >= 0, got " + keepLast);
        this.dir = dir;
        this.keepLast = keepLast;
        this.higherIsBetter = higherIsBetter;
        Files.createDirectories(dir);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) if (TEMP.matcher(p.getFileName().toString()).matches()) Files.deleteIfExists(p);
        }
    }

    /** What {@link #save} wrote. */
    public record Saved(Checkpoint.TrainState state, boolean best, Path file) {}

    public Path dir() {
        return dir;
    }

    public Path last() {
        return dir.resolve(LAST);
    }

    public Path best() {
        return dir.resolve(BEST);
    }

    public Path epochFile(long epoch) {
        return dir.resolve(String.format("epoch-%04d.safetensors", epoch));
    }

    /** last.safetensors, if a previous run wrote one. */
    public Optional<Path> resumeFile() {
        return Files.isRegularFile(last()) ? Optional.of(last()) : Optional.empty();
    }

    /** Whether {@code metric} beats {@code best} (NaN metric never does; anything beats a NaN best). */
    public boolean improves(double metric, double best) {
        if (Double.isNaN(metric)) return false;
        if (Double.isNaN(best)) return true;
        return higherIsBetter ? metric > best : metric < best;
    }

    /**
     * Saves the state of the epoch {@code state.epoch()}: last, the epoch file (then prunes old
     * ones) and, when {@code metric} improves on {@code state.bestMetric()}, best. The state
     * written carries the updated best metric; keep the returned one.
     *
     * @param metric this epoch's validation metric, NaN if there was none
     */
    public Saved save(Module model, Optimizer optimizer, Ema ema, Checkpoint.TrainState state, double metric) throws IOException {
        boolean best = improves(metric, state.bestMetric());
        Checkpoint.TrainState written = best ? state.withBestMetric(metric) : state;
        Path primary = keepLast > 0 ? epochFile(written.epoch()) : last();
        Checkpoint.save(primary, model, optimizer, ema, written);
        if (!primary.equals(last())) publish(primary, last());
        if (best) publish(primary, best());
        prune();
        return new Saved(written, best, primary);
    }

    /** Epoch files, oldest first. */
    public List<Path> epochFiles() throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) if (EPOCH.matcher(p.getFileName().toString()).matches()) out.add(p);
        }
        out.sort(Comparator.comparingLong(CheckpointManager::epochOf));
        return out;
    }

    private static long epochOf(Path p) {
        Matcher m = EPOCH.matcher(p.getFileName().toString());
        if (!m.matches()) throw new IllegalStateException(p.toString());
        String digits = m.group(1);
        return digits.length() > 18 ? Long.MAX_VALUE : Long.parseLong(digits);
    }

    private void prune() throws IOException {
        List<Path> files = epochFiles();
        for (int i = 0; i < files.size() - keepLast; i++) Files.deleteIfExists(files.get(i));
    }

    /** Makes {@code target} name the same content as {@code source}: link (or copy) to a temp name, then atomic rename. */
    private void publish(Path source, Path target) throws IOException {
        AtomicFile.replace(target, tmp -> {
            try {
                Files.createLink(tmp, source);
            } catch (UnsupportedOperationException | FileSystemException e) { // no hard links here: copy and fsync
                Files.deleteIfExists(tmp);
                Files.copy(source, tmp);
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
            }
        });
    }
}
