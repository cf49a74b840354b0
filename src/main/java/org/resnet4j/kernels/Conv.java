package org.resnet4j.kernels;

import java.util.Arrays;

/**
 * Convolution as im2col + {@link Gemm}, per image and per group:
 * forward Y_g = W_g x col(X_g); backward-data dX_g = col2im(W_g^T x dY_g);
 * backward-weight dW_g += dY_g x col(X_g)^T. A pointwise (1x1, stride 1) conv skips im2col.
 * Batches of at least {@code threads} images run one image per worker (serial GEMMs inside),
 * smaller batches run images in turn with a parallel GEMM. {@link ConvReference} is the scalar twin.
 */
public final class Conv {
    private Conv() {}

    // ---------------------------------------------------------------- forward
    /** y[n, cout, oh, ow] = conv(x[n, cin, h, w], w[cout, cin/groups, kh, kw]) + bias (bias may be null). */
    public static void forward(ConvShape s, float[] x, float[] w, float[] bias, float[] y) {
        perImage(s.n(), (img, col) -> {
            for (int g = 0; g < s.groups(); g++) {
                float[] src = colOf(s, x, img, g, col);
                int srcOff = src == x ? inOffset(s, img, g) : 0;
                Gemm.gemm(false, false, s.coutPerGroup(), s.outPixels(), s.colRows(),
                        w, g * s.coutPerGroup() * s.colRows(), s.colRows(),
                        src, srcOff, s.outPixels(),
                        y, outOffset(s, img, g), s.outPixels(), false);
            }
            if (bias != null) {
                int p = s.outPixels();
                for (int co = 0; co < s.cout(); co++) {
                    int off = (img * s.cout() + co) * p;
                    float b = bias[co];
                    for (int i = 0; i < p; i++) y[off + i] += b;
                }
            }
        }, s.isPointwise() ? 0 : s.colRows() * s.outPixels());
    }

    // ---------------------------------------------------------------- backward
    /** dx = d(loss)/d(x) given dy; overwrites dx. */
    public static void backwardData(ConvShape s, float[] dy, float[] w, float[] dx) {
        // W_g^T once per call, [colRows x coutG] per group, so the per-image GEMMs read rows.
        int rows = s.colRows(), coutG = s.coutPerGroup();
        float[] wt = new float[w.length];
        for (int g = 0; g < s.groups(); g++) {
            int base = g * coutG * rows;
            for (int co = 0; co < coutG; co++)
                for (int r = 0; r < rows; r++) wt[base + r * coutG + co] = w[base + co * rows + r];
        }
        perImage(s.n(), (img, col) -> {
            for (int g = 0; g < s.groups(); g++) {
                int wOff = g * coutG * rows;
                if (s.isPointwise()) {
                    Gemm.gemm(false, false, rows, s.outPixels(), coutG, wt, wOff, coutG,
                            dy, outOffset(s, img, g), s.outPixels(), dx, inOffset(s, img, g), s.outPixels(), false);
                } else {
                    Gemm.gemm(false, false, rows, s.outPixels(), coutG, wt, wOff, coutG,
                            dy, outOffset(s, img, g), s.outPixels(), col, 0, s.outPixels(), false);
                    col2im(s, col, dx, img, g);
                }
            }
        }, s.isPointwise() ? 0 : s.colRows() * s.outPixels());
    }

    /** dw (+)= d(loss)/d(w); db (+)= d(loss)/d(bias) when db is not null. Overwrites unless accumulate. */
    public static void backwardWeight(ConvShape s, float[] x, float[] dy, float[] dw, float[] db, boolean accumulate) {
        int workers = Math.min(Parallel.threads(), s.n());
        float[][] partial = new float[workers][];
        int wsize = s.weightSize();
        // Each worker sums its images into a private dW; the partials are added at the end,
        // so no two threads write the same weight gradient.
        Parallel.forRange(workers, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                float[] acc = new float[wsize];
                float[] col = new float[s.isPointwise() ? 0 : s.colRows() * s.outPixels()];
                int i0 = (int) ((long) s.n() * t / workers), i1 = (int) ((long) s.n() * (t + 1) / workers);
                for (int img = i0; img < i1; img++) {
                    for (int g = 0; g < s.groups(); g++) {
                        float[] src = colOf(s, x, img, g, col);
                        int srcOff = src == x ? inOffset(s, img, g) : 0;
                        Gemm.gemm(false, true, s.coutPerGroup(), s.colRows(), s.outPixels(),
                                dy, outOffset(s, img, g), s.outPixels(),
                                src, srcOff, s.outPixels(),
                                acc, g * s.coutPerGroup() * s.colRows(), s.colRows(), true);
                    }
                }
                partial[t] = acc;
            }
        });
        if (!accumulate) Arrays.fill(dw, 0, wsize, 0f);
        for (float[] p : partial) for (int i = 0; i < wsize; i++) dw[i] += p[i];
        if (db != null) {
            int p = s.outPixels();
            for (int co = 0; co < s.cout(); co++) {
                double sum = 0;
                for (int img = 0; img < s.n(); img++) {
                    int off = (img * s.cout() + co) * p;
                    for (int i = 0; i < p; i++) sum += dy[off + i];
                }
                db[co] = (float) (accumulate ? db[co] + sum : sum);
            }
        }
    }

    // ---------------------------------------------------------------- helpers
    @FunctionalInterface
    private interface ImageBody {
        void run(int img, float[] col);
    }

    private static void perImage(int n, ImageBody body, int colSize) {
        if (n >= Parallel.threads()) {
            Parallel.forRange(n, 1, (i0, i1) -> {
                float[] col = new float[colSize];
                for (int i = i0; i < i1; i++) body.run(i, col);
            });
        } else {
            float[] col = new float[colSize];
            for (int i = 0; i < n; i++) body.run(i, col);
        }
    }

    private static int inOffset(ConvShape s, int img, int g) {
        return (img * s.cin() + g * s.cinPerGroup()) * s.h() * s.w();
    }

    private static int outOffset(ConvShape s, int img, int g) {
        return (img * s.cout() + g * s.coutPerGroup()) * s.outPixels();
    }

    /** The im2col matrix of (img, g): x itself for a pointwise conv, else filled into col. */
    private static float[] colOf(ConvShape s, float[] x, int img, int g, float[] col) {
        if (s.isPointwise()) return x;
        im2col(s, x, img, g, col);
        return col;
    }

    /** col[(c*kh + ki)*kw + kj][oy*ow + ox] = x[img, g*cinG + c, oy*sh - ph + ki*dh, ox*sw - pw + kj*dw] (0 outside). */
    static void im2col(ConvShape s, float[] x, int img, int g, float[] col) {
        int h = s.h(), w = s.w(), oh = s.oh(), ow = s.ow(), p = oh * ow;
        int base = inOffset(s, img, g);
        int row = 0;
        for (int c = 0; c < s.cinPerGroup(); c++) {
            int plane = base + c * h * w;
            for (int ki = 0; ki < s.kh(); ki++) {
                for (int kj = 0; kj < s.kw(); kj++, row++) {
                    int dst = row * p;
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * s.strideH() - s.padH() + ki * s.dilH();
                        int o = dst + oy * ow;
                        if (iy < 0 || iy >= h) {
                            Arrays.fill(col, o, o + ow, 0f);
                            continue;
                        }
                        int srcRow = plane + iy * w;
                        int ix0 = kj * s.dilW() - s.padW();
                        if (s.strideW() == 1) {
                            // output columns [lo, hi) read inside the row; the rest is padding
                            int lo = Math.max(0, -ix0), hi = Math.min(ow, w - ix0);
                            if (hi <= lo) {
                                Arrays.fill(col, o, o + ow, 0f);
                                continue;
                            }
                            if (lo > 0) Arrays.fill(col, o, o + lo, 0f);
                            System.arraycopy(x, srcRow + ix0 + lo, col, o + lo, hi - lo);
                            if (hi < ow) Arrays.fill(col, o + hi, o + ow, 0f);
                        } else {
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * s.strideW() + ix0;
                                col[o + ox] = (ix >= 0 && ix < w) ? x[srcRow + ix] : 0f;
                            }
                        }
                    }
                }
            }
        }
    }

    /** The adjoint of im2col: dx[img, g] = sum of col entries over the positions each pixel fed. Overwrites. */
    static void col2im(ConvShape s, float[] col, float[] dx, int img, int g) {
        int h = s.h(), w = s.w(), oh = s.oh(), ow = s.ow(), p = oh * ow;
        int base = inOffset(s, img, g);
        Arrays.fill(dx, base, base + s.cinPerGroup() * h * w, 0f);
        int row = 0;
        for (int c = 0; c < s.cinPerGroup(); c++) {
            int plane = base + c * h * w;
            for (int ki = 0; ki < s.kh(); ki++) {
                for (int kj = 0; kj < s.kw(); kj++, row++) {
                    int src = row * p;
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * s.strideH() - s.padH() + ki * s.dilH();
                        if (iy < 0 || iy >= h) continue;
                        int dstRow = plane + iy * w;
                        int o = src + oy * ow;
                        int ix0 = kj * s.dilW() - s.padW();
                        if (s.strideW() == 1) {
                            int lo = Math.max(0, -ix0), hi = Math.min(ow, w - ix0);
                            int d = dstRow + ix0;
                            for (int ox = lo; ox < hi; ox++) dx[d + ox] += col[o + ox]; // no bounds test: vectorizes
                        } else {
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * s.strideW() + ix0;
                                if (ix >= 0 && ix < w) dx[dstRow + ix] += col[o + ox];
                            }
                        }
                    }
                }
            }
        }
    }
}
