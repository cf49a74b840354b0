package org.resnet4j.train;

import java.util.Locale;

/**
 * Where a {@link Trainer} reports progress within an epoch. The library reports nothing by
 * default; the command line draws a progress bar with throughput and ETA.
 */
public interface TrainingProgress {
    /** An epoch of {@code images} training images begins; {@code label} is e.g. "epoch 3/30". */
    void start(String label, long images);

    /** {@code done} images of the epoch are through; {@code status} is e.g. "loss 0.4321 acc 85.1% lr 0.1". */
    void update(long done, String status);

    /** Reports nothing. */
    TrainingProgress NONE = new TrainingProgress() {
        @Override
        public void start(String label, long images) {}

        @Override
        public void update(long done, String status) {}
    };

    /** Seconds as m:ss, or h:mm:ss from an hour on. */
    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
