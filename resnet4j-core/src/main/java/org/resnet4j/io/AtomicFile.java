package org.resnet4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * Writes a file so that readers see either the old content or the whole new one, never a part:
 * the new content goes to a temporary name in the same directory, is forced to disk, and is then
 * renamed over the target (atomically where the file system can); the directory is synced so the
 * rename survives a crash. On failure the temporary file is removed and the target is untouched.
 * Every file resnet4j writes (weights, checkpoints, ONNX, plots) goes through here.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Creates {@code tmp} (it does not exist yet), fills it and forces it to disk. */
    @FunctionalInterface
    public interface Filler {
        void fill(Path tmp) throws IOException;
    }

    /** Writes the content through a channel. */
    @FunctionalInterface
    public interface ChannelWriter {
        void write(FileChannel ch) throws IOException;
    }

    /** Writes the content through a stream (buffer it if it writes small pieces). */
    @FunctionalInterface
    public interface StreamWriter {
        void write(OutputStream out) throws IOException;
    }

    public static void write(Path file, ChannelWriter w) throws IOException {
        replace(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                w.write(ch);
                ch.force(true); // data on disk before the rename makes it visible
            }
        });
    }

    public static void writeStream(Path file, StreamWriter w) throws IOException {
        write(file, ch -> {
            OutputStream os = new java.io.BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            w.write(os);
            os.flush(); // not closed: that would close the channel before force
        });
    }

    /** The general form: {@code filler} produces the temporary file, which then replaces {@code file}. */
    public static void replace(Path file, Filler filler) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        String name = file.getFileName().toString();
        // A random name opened CREATE_NEW rather than createTempFile, whose 0600 mode the final file would inherit.
        Path tmp = dir.resolve("." + (name.length() > 100 ? name.substring(0, 100) : name) + "."
                + Long.toHexString(new SplittableRandom().nextLong() >>> 1) + ".tmp");
        boolean moved = false;
        try {
            filler.fill(tmp);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // the rename itself durable (POSIX); best effort elsewhere
            } catch (IOException | RuntimeException ignored) {
                // directories cannot be opened for sync on every platform
            }
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(tmp); // never leave a partial temp file behind
                } catch (IOException ignored) { // the original failure is the one to report
                }
            }
        }
    }
}
