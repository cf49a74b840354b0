package org.resnet4j.kernels;

/**
 * Direct backward-data of a 3x3 convolution of stride 2 (padding 1), by columns: dx^T[p][ci] =
 * sum over taps of dy_k[p] W[k][ci], on {@link DirectForwardColumns}'s 6 x 2L micro-kernel with
 * the input channels in its panels. A stride-2 gradient is a sum over only the taps that land on
 * each input position: with iy = 2 oy + ki - 1, even rows iy = 2a take the middle kernel row
 * (ki = 1, oy = a) and odd rows iy = 2a + 1 the outer two (ki = 0 from oy = a + 1, ki = 2 from
 * oy = a), and the same for columns. So dx splits into four phases (row and column parity), each
 * a stride-1 convolution of dy with a 1x1, 1x2, 2x1 or 2x2 part of the kernel (the polyphase
 * form of a transposed convolution; Dumoulin and Visin, "A guide to convolution arithmetic for
 * deep learning", 2016, section 4): 9 taps per 4 positions in all, as the forward, with no
 * im2col matrix and no col2im scatter. Positions of one phase share a tap table, so a
 * micro-kernel takes six of them; dy is padded once per image group for all four phases.
 *
 * <p>Before this form the stride-2 layers' backward-data was a GEMM into an im2col-sized column
 * matrix and a col2im scatter (bench --profile: 38-58 GFLOPS at 256 bits on 2 threads, against
 * 90-100 for the other passes of the same layers in the same run).
 */
final class DirectDataColumns {
    private DirectDataColumns() {}

    private static final int ROWS = DirectForwardColumns.ROWS, COLUMNS = DirectForwardColumns.COLUMNS;

    /** Whether this form computes s's backward-data: a padded 3x3 of stride 2 with whole panels of input channels. */
    static boolean supports(ConvShape s) {
        return s.padded3x3() && s.strideH() == 2 && s.cin() % COLUMNS == 0;
    }

    /** Input positions (of dx) a pass of the micro-kernels aims at per image group. */
    static final int GROUP_POSITIONS = 256;

    /** Images per group: enough for {@link #GROUP_POSITIONS} positions, and at least two groups per thread. */
    static int imagesPerGroup(ConvShape s) {
        int want = (GROUP_POSITIONS + s.h() * s.w() - 1) / (s.h() * s.w());
        return Math.max(1, Math.min(want, s.n() / (2 * Parallel.threads())));
    }

    /** dx = d(loss)/d(x) given dy, as {@link Conv#backwardData}; overwrites dx. */
    static void backwardData(ConvShape s, float[] dy, float[] w, float[] dx) {
        if (!supports(s)) throw new IllegalArgumentException("direct stride-2 backward-data does not compute " + s);
        int n = s.n(), cin = s.cin(), cout = s.cout(), h = s.h(), wd = s.w(), hw = h * wd, oh = s.oh(), ow = s.ow(), ohw = oh * ow;
        int rs = ow + 2, padPlane = (oh + 2) * rs, imageSize = cout * padPlane, panels = cin / COLUMNS;
        int group = imagesPerGroup(s), groups = (n + group - 1) / group;
        // phase (py, px): rows iy = 2a + py (a < rows[py]) and columns ix = 2b + px; kernel rows
        // {1} for py = 0, {0, 2} for py = 1, the same for columns
        int[] rows = {(h + 1) / 2, h / 2}, cols = {(wd + 1) / 2, wd / 2};
        int[][] kernel = {{1}, {0, 2}};
        int[] taps = new int[4], start = new int[4];
        int[][] off = new int[4][];
        float[] wt = Workspace.get(Workspace.Slot.DIRECT_WEIGHTS, cin * cout * 9);
        for (int ph = 0, at = 0; ph < 4; ph++) {
            int[] kr = kernel[ph >> 1], kc = kernel[ph & 1];
            int per = kr.length * kc.length, t = cout * per;
            taps[ph] = t;
            start[ph] = at;
            off[ph] = new int[t];
            for (int co = 0; co < cout; co++)
                for (int i = 0; i < kr.length; i++)
                    for (int j = 0; j < kc.length; j++) {
                        int k = co * per + i * kc.length + j;
                        // a window's base is dy's (a, b) in the padded planes; ki = 0 reads a + 1, kj = 0 reads b + 1
                        off[ph][k] = co * padPlane + (kr[i] == 0 ? rs : 0) + (kc[j] == 0 ? 1 : 0);
                        for (int ci = 0; ci < cin; ci++)
                            wt[at + ((ci / COLUMNS) * t + k) * COLUMNS + ci % COLUMNS] = w[((co * cin + ci) * 3 + kr[i]) * 3 + kc[j]];
                    }
            at += cin * t;
        }
        int padded = (group * rows[0] * cols[0] + ROWS - 1) / ROWS * ROWS; // the largest phase's rows
        Parallel.forRangeGuided(groups, 1, (g0, g1) -> {
            // a window's last tap reads (cout - 1) padPlane + (oh + 1) rs + ow + 1 < cout padPlane: no slack
            float[] xp = Workspace.get(Workspace.Slot.DIRECT_INPUT, group * imageSize);
            float[] yt = Workspace.get(Workspace.Slot.DIRECT_OUTPUT, panels * padded * COLUMNS);
            int[] base = new int[padded];
            for (int g = g0; g < g1; g++) {
                int i0 = g * group, images = Math.min(n, i0 + group) - i0;
                PaddedPlanes.pad(dy, i0 * cout * ohw, images * cout, oh, ow, xp);
                for (int ph = 0; ph < 4; ph++) {
                    int py = ph >> 1, px = ph & 1, pr = rows[py], pc = cols[px], per = pr * pc, count = images * per;
                    if (count == 0) continue; // a 1-wide image has no odd column
                    int q = 0;
                    for (int j = 0; j < images; j++)
                        for (int a = 0; a < pr; a++)
                            for (int b = 0, row = j * imageSize + (a + 1) * rs + 1; b < pc; b++) base[q++] = row + b;
                    int used = (count + ROWS - 1) / ROWS * ROWS;
                    // the last kernel's spare rows recompute the last position, into rows that are not read
                    for (; q < used; q++) base[q] = base[count - 1];
                    for (int pn = 0; pn < panels; pn++)
                        for (q = 0; q < used; q += ROWS)
                            DirectForwardColumns.tile(xp, base[q], base[q + 1], base[q + 2], base[q + 3], base[q + 4], base[q + 5],
                                    off[ph], taps[ph], wt, start[ph] + pn * taps[ph] * COLUMNS, yt, (pn * used + q) * COLUMNS);
                    for (int j = 0; j < images; j++)
                        for (int ci = 0; ci < cin; ci++) {
                            int src = ((ci / COLUMNS) * used + j * per) * COLUMNS + ci % COLUMNS;
                            int dst = ((i0 + j) * cin + ci) * hw + py * wd + px;
                            for (int a = 0; a < pr; a++, dst += 2 * wd)
                                for (int b = 0; b < pc; b++, src += COLUMNS) dx[dst + 2 * b] = yt[src];
                        }
                }
            }
        });
    }
}
