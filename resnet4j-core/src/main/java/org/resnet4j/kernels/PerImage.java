package org.resnet4j.kernels;

/** Runs a per-image body over a batch, each worker with its own im2col workspace. */
final class PerImage {
    private PerImage() {}

    @FunctionalInterface
    interface ImageBody {
        void run(int img, float[] col);
    }

    /** Images over the pool's workers (each with its COL workspace of colSize), or in turn when there are fewer images than threads. */
    static void run(int n, ImageBody body, int colSize) {
        if (n >= Parallel.threads()) {
            Parallel.forRangeGuided(n, 1, (i0, i1) -> {
                float[] col = Workspace.get(Workspace.Slot.COL, colSize);
                for (int i = i0; i < i1; i++) body.run(i, col);
            });
        } else {
            float[] col = Workspace.get(Workspace.Slot.COL, colSize);
            for (int i = 0; i < n; i++) body.run(i, col);
        }
    }
}
