import org.resnet4j.data.SyntheticScenes;

/**
 * How much mIoU a segmenter's logit map at a given output stride can reach on the generated
 * scenes if its logits were ideal: each class's share of each cell's pixels (the area average of
 * the one-hot mask), upsampled bilinearly (align_corners=False, as the FCN heads do) and argmaxed
 * against the full-resolution mask. Not a bound in the strict sense (a trained net may sharpen
 * its logits beyond area shares), but it shows what the logit grid alone costs the thin parts of
 * stars, crosses and rings.
 *
 * <pre>
 * java -cp resnet4j-cli/target/resnet4j.jar tools/LogitMapCeiling.java 64 4   # image size, output stride
 * </pre>
 */
public class LogitMapCeiling {
    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]), os = Integer.parseInt(args[1]), scenes = args.length > 2 ? Integer.parseInt(args[2]) : 500;
        int classes = SyntheticScenes.CLASSES.size() + 1, m = (n + os - 1) / os;
        SyntheticScenes data = new SyntheticScenes(scenes, 99, n, 6);
        long[][] confusion = new long[classes][classes];
        for (int i = 0; i < scenes; i++) {
            int[] mask = data.get(i).semantic();
            float[][] share = new float[classes][m * m];
            for (int p = 0; p < n * n; p++) {
                if (mask[p] != 255) share[mask[p]][(p / n / os) * m + (p % n) / os] += 1f / (os * os);
            }
            for (int y = 0; y < n; y++) {
                for (int x = 0; x < n; x++) {
                    int t = mask[y * n + x];
                    if (t == 255) continue;
                    double sy = Math.max(0, (y + 0.5) / os - 0.5), sx = Math.max(0, (x + 0.5) / os - 0.5);
                    int y0 = (int) sy, x0 = (int) sx, y1 = Math.min(y0 + 1, m - 1), x1 = Math.min(x0 + 1, m - 1);
                    double ly = sy - y0, lx = sx - x0;
                    int best = 0;
                    double bestValue = -1;
                    for (int c = 0; c < classes; c++) {
                        float[] s = share[c];
                        double v = (1 - ly) * ((1 - lx) * s[y0 * m + x0] + lx * s[y0 * m + x1]) + ly * ((1 - lx) * s[y1 * m + x0] + lx * s[y1 * m + x1]);
                        if (v > bestValue) {
                            bestValue = v;
                            best = c;
                        }
                    }
                    confusion[t][best]++;
                }
            }
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) {
            long tp = confusion[c][c], fp = 0, fn = 0;
            for (int k = 0; k < classes; k++) {
                if (k != c) {
                    fp += confusion[k][c];
                    fn += confusion[c][k];
                }
            }
            sum += (double) tp / (tp + fp + fn);
        }
        System.out.printf("%d px, output stride %d, %d scenes: mIoU of ideal area-share logits %.1f %%%n", n, os, scenes, 100 * sum / classes);
    }
}
