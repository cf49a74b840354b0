package org.resnet4j.kernels;

/**
 * 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray 2016,
 * "Fast Algorithms for Convolutional Neural Networks"): each 2x2 output tile is
 * A^T [ (G g G^T) .* (B^T d B) ] A over a 4x4 input tile d, so the 36 multiplications of a 2x2
 * tile per input channel become 16, and the channel sums become 16 GEMMs:
 * M_k [cout x tiles] = U_k [cout x cin] V_k [cin x tiles], k over the 4x4 transform points.
 * 2.25x fewer multiplications than direct or im2col convolution, and the transformed input is
 * 4/9 the size of the im2col matrix. The transforms with these small integer and 1/2 entries
 * keep float32 error at the level of a GEMM's (the paper's Table 2; larger tiles such as
 * F(4x4, 3x3) save more but lose accuracy).
 *
 * <p>Used by {@link Conv#forward} for 3x3, stride-1, undilated, ungrouped convolutions with
 * padding 0 or 1, which includes the stride-1 backward-data of the same convolutions; the
 * im2col path stays the reference it is tested against. {@code -Dresnet4j.conv.winograd=false}
 * turns it off for A/B measurements.
 */
final class Winograd {
    private Winograd() {}

    static final boolean ENABLED = !"false".equals(System.getProperty("resnet4j.conv.winograd"));

    /**
     * Below these sizes im2col stays faster, as measured per layer with {@code bench --profile}
     * (resnet18, batch 1): with 64 channels the GEMMs' depth (cin) is too short and the
     * transforms cost as much as they save (7.1-7.9 against 7.6-8.0 ms at 56x56); with 4x4 tiles
     * (7x7 outputs) each GEMM is 16 columns wide (5.4 against 4.7-5.2 ms). 128 channels at 28x28
     * and 256 at 14x14 gain 1.1-1.5x.
     */
    static final int MIN_CHANNELS = 128, MIN_TILES = 36;

    /** Whether the geometry is one Winograd F(2x2, 3x3) computes: 3x3, stride 1, undilated, ungrouped, padding 0 or 1. */
    static boolean supports(ConvShape s) {
        return s.kh() == 3 && s.kw() == 3 && s.strideH() == 1 && s.strideW() == 1 && s.dilH() == 1 && s.dilW() == 1
                && s.groups() == 1 && s.padH() <= 1 && s.padW() <= 1;
    }

    /** Whether {@link Conv#forward} takes this path: supported, and large enough to win. */
    static boolean applies(ConvShape s) {
        int tiles = ((s.oh() + 1) / 2) * ((s.ow() + 1) / 2);
        return ENABLED && supports(s) && s.cin() >= MIN_CHANNELS && s.cout() >= MIN_CHANNELS && tiles >= MIN_TILES;
    }

    /**
     * y = conv(x, w), then the epilogue (may be null), as {@link Conv#forward}. With
     * {@code weightsFixed} (inference: the same weights come again) the transformed weights are
     * cached; at batch 1 transforming a 512x512 layer's weights would cost more than its
     * convolution.
     */
    static void forward(ConvShape s, float[] x, float[] w, Epilogue e, float[] y, boolean weightsFixed) {
        if (!supports(s)) throw new IllegalArgumentException("Winograd F(2x2, 3x3) does not compute " + s);
        int cin = s.cin(), cout = s.cout();
        int th = (s.oh() + 1) / 2, tw = (s.ow() + 1) / 2, tiles = th * tw;
        float[] u = weightsFixed ? cachedWeights(w, cout, cin) : transformedInWorkspace(w, cout, cin);
        PerImage.run(s.n(), (img, unused) -> {
            float[] v = Workspace.get(Workspace.Slot.COL, 16 * cin * tiles);
            float[] m = Workspace.get(Workspace.Slot.WINOGRAD_PRODUCTS, 16 * cout * tiles);
            transformInput(s, x, img, th, tw, v);
            // the 16 GEMMs split over the pool, each serial on its worker (inline when images already run in parallel)
            Parallel.forRange(16, 1, (k0, k1) -> {
                for (int k = k0; k < k1; k++) {
                    Gemm.gemm(false, false, cout, tiles, cin, u, k * cout * cin, cin, v, k * cin * tiles, tiles,
                            m, k * cout * tiles, tiles, false);
                }
            });
            transformOutput(s, m, img, th, tw, y);
            if (e != null) e.overChannels(y, img * cout * s.outPixels(), cout, s.outPixels());
        }, 0);
    }

    private static float[] transformedInWorkspace(float[] w, int cout, int cin) {
        float[] u = Workspace.get(Workspace.Slot.WINOGRAD_WEIGHTS, 16 * cout * cin);
        transformWeights(w, cout, cin, u);
        return u;
    }

    private record Cached(long generation, long fingerprint, float[] u) {}

    private static final java.util.Map<float[], Cached> CACHE = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());
    private static final java.util.concurrent.atomic.AtomicLong GENERATION = new java.util.concurrent.atomic.AtomicLong();

    /** See {@link Conv#weightsChanged}. */
    static void weightsChanged() {
        GENERATION.incrementAndGet();
    }

    /**
     * The transformed weights of w, from the cache (keyed by the array, held weakly) when they
     * are still valid: same generation and the same fingerprint, two values sampled from every
     * filter, so an in-place update of any filter is caught even without {@link Conv#weightsChanged}.
     */
    private static float[] cachedWeights(float[] w, int cout, int cin) {
        long gen = GENERATION.get(), fp = fingerprint(w, cout, cin * 9);
        Cached c = CACHE.get(w);
        if (c != null && c.generation() == gen && c.fingerprint() == fp) return c.u();
        float[] u = new float[16 * cout * cin];
        transformWeights(w, cout, cin, u);
        CACHE.put(w, new Cached(gen, fp, u));
        return u;
    }

    private static long fingerprint(float[] w, int filters, int perFilter) {
        long h = 1125899906842597L;
        for (int f = 0; f < filters; f++) {
            int base = f * perFilter;
            h = 31 * h + Float.floatToRawIntBits(w[base + (f % perFilter)]);
            h = 31 * h + Float.floatToRawIntBits(w[base + perFilter / 2 + (f % (perFilter - perFilter / 2))]);
        }
        return h;
    }

    /** U[k][co][ci] = (G g G^T)[k] for each 3x3 filter g, G = [[1,0,0],[1/2,1/2,1/2],[1/2,-1/2,1/2],[0,0,1]]. */
    static void transformWeights(float[] w, int cout, int cin, float[] u) {
        int plane = cout * cin;
        Parallel.forRange(cout, Math.max(1, 4096 / (cin * 9)), (c0, c1) -> {
            float[] t = new float[12];
            for (int co = c0; co < c1; co++) {
                for (int ci = 0; ci < cin; ci++) {
                    int g = (co * cin + ci) * 9;
                    for (int j = 0; j < 3; j++) { // t = G g: 4 rows of 3
                        float g0 = w[g + j], g1 = w[g + 3 + j], g2 = w[g + 6 + j];
                        t[j] = g0;
                        t[3 + j] = 0.5f * (g0 + g1 + g2);
                        t[6 + j] = 0.5f * (g0 - g1 + g2);
                        t[9 + j] = g2;
                    }
                    int o = co * cin + ci;
                    for (int i = 0; i < 4; i++) { // (G g) G^T: each row of 3 becomes 4
                        float a = t[3 * i], b = t[3 * i + 1], c = t[3 * i + 2];
                        u[(4 * i) * plane + o] = a;
                        u[(4 * i + 1) * plane + o] = 0.5f * (a + b + c);
                        u[(4 * i + 2) * plane + o] = 0.5f * (a - b + c);
                        u[(4 * i + 3) * plane + o] = c;
                    }
                }
            }
        });
    }

    /**
     * V[k][c][tile] = (B^T d B)[k], d the 4x4 input tile at (2 ty - pad, 2 tx - pad), zero outside
     * the image. A row of tiles is done at once: each of its 4 input rows is split into even and
     * odd columns (with the padding's zeros), so tile tx's columns are even[tx], odd[tx],
     * even[tx + 1], odd[tx + 1], and every step of the transform is an elementwise loop over tx
     * that C2 vectorizes, writing V's rows contiguously.
     */
    static void transformInput(ConvShape s, float[] x, int img, int th, int tw, float[] v) {
        int cin = s.cin(), h = s.h(), w = s.w(), tiles = th * tw, ph = s.padH(), pw = s.padW();
        int plane = cin * tiles, len = tw + 1;
        Parallel.forRange(cin, Math.max(1, (1 << 14) / (16 * tiles)), (c0, c1) -> {
            float[] ev = new float[4 * len], od = new float[4 * len], te = new float[4 * len], to = new float[4 * len];
            for (int c = c0; c < c1; c++) {
                int base = (img * cin + c) * h * w;
                for (int ty = 0; ty < th; ty++) {
                    int y0 = 2 * ty - ph;
                    for (int i = 0; i < 4; i++) { // even and odd columns of input row y0 + i, from x = -pw
                        int yy = y0 + i, e = i * len;
                        if (yy < 0 || yy >= h) {
                            java.util.Arrays.fill(ev, e, e + len, 0f);
                            java.util.Arrays.fill(od, e, e + len, 0f);
                            continue;
                        }
                        int row = base + yy * w;
                        for (int q = 0; q < len; q++) {
                            int xe = 2 * q - pw, xo = xe + 1;
                            ev[e + q] = xe >= 0 && xe < w ? x[row + xe] : 0f;
                            od[e + q] = xo >= 0 && xo < w ? x[row + xo] : 0f;
                        }
                    }
                    // B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]] down the rows
                    rows(ev, te, len);
                    rows(od, to, len);
                    int o = c * tiles + ty * tw;
                    for (int i = 0; i < 4; i++) { // and across the columns: a = e[tx], b = o[tx], c = e[tx+1], d = o[tx+1]
                        int r = i * len, v0 = (4 * i) * plane + o, v1 = v0 + plane, v2 = v1 + plane, v3 = v2 + plane;
                        for (int tx = 0; tx < tw; tx++) v[v0 + tx] = te[r + tx] - te[r + tx + 1];
                        for (int tx = 0; tx < tw; tx++) v[v1 + tx] = to[r + tx] + te[r + tx + 1];
                        for (int tx = 0; tx < tw; tx++) v[v2 + tx] = te[r + tx + 1] - to[r + tx];
                        for (int tx = 0; tx < tw; tx++) v[v3 + tx] = to[r + tx] - to[r + tx + 1];
                    }
                }
            }
        });
    }

    /** t = B^T r over 4 rows of {@code len}: t0 = r0 - r2, t1 = r1 + r2, t2 = r2 - r1, t3 = r1 - r3. */
    private static void rows(float[] r, float[] t, int len) {
        for (int q = 0; q < len; q++) t[q] = r[q] - r[2 * len + q];
        for (int q = 0; q < len; q++) t[len + q] = r[len + q] + r[2 * len + q];
        for (int q = 0; q < len; q++) t[2 * len + q] = r[2 * len + q] - r[len + q];
        for (int q = 0; q < len; q++) t[3 * len + q] = r[len + q] - r[3 * len + q];
    }

    /**
     * y[co] 2x2 tiles = A^T m A, A^T = [[1,1,1,0],[0,1,-1,-1]]; tiles past the output's edge are
     * cropped. A row of tiles at once, as {@link #transformInput}: elementwise loops over tx, then
     * the even and odd output columns interleaved.
     */
    static void transformOutput(ConvShape s, float[] m, int img, int th, int tw, float[] y) {
        int cout = s.cout(), oh = s.oh(), ow = s.ow(), tiles = th * tw, plane = cout * tiles;
        Parallel.forRange(cout, Math.max(1, (1 << 14) / (16 * tiles)), (c0, c1) -> {
            float[] t = new float[8 * tw], ev = new float[tw], od = new float[tw];
            for (int co = c0; co < c1; co++) {
                int base = (img * cout + co) * oh * ow;
                for (int ty = 0; ty < th; ty++) {
                    int o = co * tiles + ty * tw;
                    for (int j = 0; j < 4; j++) { // A^T m: rows r0 = m0 + m1 + m2, r1 = m1 - m2 - m3, column j
                        int m0 = j * plane + o, m1 = m0 + 4 * plane, m2 = m1 + 4 * plane, m3 = m2 + 4 * plane;
                        int r0 = j * tw, r1 = (4 + j) * tw;
                        for (int tx = 0; tx < tw; tx++) t[r0 + tx] = m[m0 + tx] + m[m1 + tx] + m[m2 + tx];
                        for (int tx = 0; tx < tw; tx++) t[r1 + tx] = m[m1 + tx] - m[m2 + tx] - m[m3 + tx];
                    }
                    for (int i = 0; i < 2 && 2 * ty + i < oh; i++) {
                        int r = 4 * i * tw;
                        for (int tx = 0; tx < tw; tx++) ev[tx] = t[r + tx] + t[r + tw + tx] + t[r + 2 * tw + tx];
                        for (int tx = 0; tx < tw; tx++) od[tx] = t[r + tw + tx] - t[r + 2 * tw + tx] - t[r + 3 * tw + tx];
                        int row = base + (2 * ty + i) * ow;
                        for (int tx = 0; tx < ow / 2; tx++) {
                            y[row + 2 * tx] = ev[tx];
                            y[row + 2 * tx + 1] = od[tx];
                        }
                        if ((ow & 1) != 0) y[row + ow - 1] = ev[tw - 1];
                    }
                }
            }
        });
    }
}
