package org.resnet4j.kernels;

/** The scalar twin of {@link Conv}: direct loops straight from the definition, accumulated in double. */
public final class ConvReference {
    private ConvReference() {}

    private static int xIndex(ConvShape s, int n, int c, int y, int x) {
        return ((n * s.cin() + c) * s.h() + y) * s.w() + x;
    }

    public static void forward(ConvShape s, float[] x, float[] w, float[] bias, float[] y) {
        int cinG = s.cinPerGroup(), coutG = s.coutPerGroup();
        for (int n = 0; n < s.n(); n++)
            for (int co = 0; co < s.cout(); co++) {
                int g = co / coutG;
                for (int oy = 0; oy < s.oh(); oy++)
                    for (int ox = 0; ox < s.ow(); ox++) {
                        double sum = bias == null ? 0 : bias[co];
                        for (int c = 0; c < cinG; c++)
                            for (int ki = 0; ki < s.kh(); ki++)
                                for (int kj = 0; kj < s.kw(); kj++) {
                                    int iy = oy * s.strideH() - s.padH() + ki * s.dilH();
                                    int ix = ox * s.strideW() - s.padW() + kj * s.dilW();
                                    if (iy < 0 || iy >= s.h() || ix < 0 || ix >= s.w()) continue;
                                    sum += (double) w[((co * cinG + c) * s.kh() + ki) * s.kw() + kj]
                                            * x[xIndex(s, n, g * cinG + c, iy, ix)];
                                }
                        y[((n * s.cout() + co) * s.oh() + oy) * s.ow() + ox] = (float) sum;
                    }
            }
    }

    public static void backwardData(ConvShape s, float[] dy, float[] w, float[] dx) {
        double[] acc = new double[dx.length];
        int cinG = s.cinPerGroup(), coutG = s.coutPerGroup();
        for (int n = 0; n < s.n(); n++)
            for (int co = 0; co < s.cout(); co++) {
                int g = co / coutG;
                for (int oy = 0; oy < s.oh(); oy++)
                    for (int ox = 0; ox < s.ow(); ox++) {
                        float d = dy[((n * s.cout() + co) * s.oh() + oy) * s.ow() + ox];
                        for (int c = 0; c < cinG; c++)
                            for (int ki = 0; ki < s.kh(); ki++)
                                for (int kj = 0; kj < s.kw(); kj++) {
                                    int iy = oy * s.strideH() - s.padH() + ki * s.dilH();
                                    int ix = ox * s.strideW() - s.padW() + kj * s.dilW();
                                    if (iy < 0 || iy >= s.h() || ix < 0 || ix >= s.w()) continue;
                                    acc[xIndex(s, n, g * cinG + c, iy, ix)] +=
                                            (double) d * w[((co * cinG + c) * s.kh() + ki) * s.kw() + kj];
                                }
                    }
            }
        for (int i = 0; i < dx.length; i++) dx[i] = (float) acc[i];
    }

    public static void backwardWeight(ConvShape s, float[] x, float[] dy, float[] dw, float[] db) {
        int cinG = s.cinPerGroup(), coutG = s.coutPerGroup();
        for (int co = 0; co < s.cout(); co++) {
            int g = co / coutG;
            double bsum = 0;
            for (int n = 0; n < s.n(); n++)
                for (int p = 0; p < s.outPixels(); p++) bsum += dy[(n * s.cout() + co) * s.outPixels() + p];
            if (db != null) db[co] = (float) bsum;
            for (int c = 0; c < cinG; c++)
                for (int ki = 0; ki < s.kh(); ki++)
                    for (int kj = 0; kj < s.kw(); kj++) {
                        double sum = 0;
                        for (int n = 0; n < s.n(); n++)
                            for (int oy = 0; oy < s.oh(); oy++)
                                for (int ox = 0; ox < s.ow(); ox++) {
                                    int iy = oy * s.strideH() - s.padH() + ki * s.dilH();
                                    int ix = ox * s.strideW() - s.padW() + kj * s.dilW();
                                    if (iy < 0 || iy >= s.h() || ix < 0 || ix >= s.w()) continue;
                                    sum += (double) dy[((n * s.cout() + co) * s.oh() + oy) * s.ow() + ox]
                                            * x[xIndex(s, n, g * cinG + c, iy, ix)];
                                }
                        dw[((co * cinG + c) * s.kh() + ki) * s.kw() + kj] = (float) sum;
                    }
        }
    }
}
