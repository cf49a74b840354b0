package org.resnet4j.detection;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.resnet4j.detection.ops.Boxes;
import org.resnet4j.tensor.Tensor;

/**
 * torchvision's FCOS.postprocess_detections: from the head's outputs to at most
 * {@code detectionsPerImg} boxes per image, in the resized image's pixels.
 *
 * <p>Per image and level: the score of (anchor, class) is sqrt(sigmoid(logit) *
 * sigmoid(centerness)) (Tian et al. 2019, section 3.3: centerness down-weights boxes predicted far
 * from an object's centre; the square root is torchvision's, which keeps the score on the
 * probability's scale), candidates with a score above {@code scoreThresh} are kept, at most
 * {@code topkCandidates} of them by decreasing score, decoded against their anchors and clipped to
 * the image. Then, over all levels, batched NMS per class at {@code nmsThresh} and the first
 * {@code detectionsPerImg}. Arithmetic in float32 as torchvision's; equal scores keep index order.
 */
final class FcosPostprocess {
    private FcosPostprocess() {}

    /**
     * Detections per image; {@code cls} [N, R, K], {@code reg} [N, R, 4], {@code ctr} [N, R, 1],
     * {@code anchors} [R, 4], {@code perLevel} the rows of each level, {@code imageSizes} the
     * resized images' {height, width}.
     */
    static List<Detections> apply(Tensor cls, Tensor reg, Tensor ctr, Tensor anchors, int[] perLevel, int[][] imageSizes,
                                  float scoreThresh, int topkCandidates, float nmsThresh, int detectionsPerImg,
                                  BoxLinearCoder coder) {
        int n = cls.dim(0), rows = cls.dim(1), k = cls.dim(2);
        float[] cd = cls.data(), rd = reg.data(), td = ctr.data(), ad = anchors.data();
        List<Detections> out = new ArrayList<>();
        for (int img = 0; img < n; img++) {
            List<float[]> boxes = new ArrayList<>();
            List<Float> scores = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            int start = 0;
            for (int count : perLevel) {
                // candidates above the threshold, flat index (anchor * K + class) ascending, as torch.where
                int m = 0;
                int[] idx = new int[count * k];
                float[] sc = new float[count * k];
                for (int a = 0; a < count; a++) {
                    int row = img * rows + start + a;
                    float sCtr = sigmoid(td[row]);
                    for (int c = 0; c < k; c++) {
                        float s = (float) Math.sqrt(sigmoid(cd[row * k + c]) * sCtr);
                        if (s > scoreThresh) {
                            idx[m] = a * k + c;
                            sc[m++] = s;
                        }
                    }
                }
                int take = Math.min(topkCandidates, m);
                Integer[] order = topk(sc, m, take);
                Tensor codes = Tensor.zeros(take, 4), refs = Tensor.zeros(take, 4);
                for (int i = 0; i < take; i++) {
                    int a = idx[order[i]] / k;
                    System.arraycopy(rd, 4 * (img * rows + start + a), codes.data(), 4 * i, 4);
                    System.arraycopy(ad, 4 * (start + a), refs.data(), 4 * i, 4);
                    scores.add(sc[order[i]]);
                    labels.add(idx[order[i]] % k);
                }
                Tensor decoded = Boxes.clipBoxesToImage(coder.decode(codes, refs), imageSizes[img][0], imageSizes[img][1]);
                for (int i = 0; i < take; i++) boxes.add(Arrays.copyOfRange(decoded.data(), 4 * i, 4 * i + 4));
                start += count;
            }
            int c = boxes.size();
            Tensor b = Tensor.zeros(c, 4), s = Tensor.zeros(c);
            int[] lab = new int[c];
            for (int i = 0; i < c; i++) {
                System.arraycopy(boxes.get(i), 0, b.data(), 4 * i, 4);
                s.data()[i] = scores.get(i);
                lab[i] = labels.get(i);
            }
            int[] keep = Boxes.batchedNms(b, s, lab, nmsThresh);
            keep = Arrays.copyOf(keep, Math.min(keep.length, detectionsPerImg));
            Tensor kb = Tensor.zeros(keep.length, 4), ks = Tensor.zeros(keep.length);
            int[] kl = new int[keep.length];
            for (int i = 0; i < keep.length; i++) {
                System.arraycopy(b.data(), 4 * keep[i], kb.data(), 4 * i, 4);
                ks.data()[i] = s.data()[keep[i]];
                kl[i] = lab[keep[i]];
            }
            out.add(new Detections(kb, ks, kl));
        }
        return out;
    }

    /**
     * The positions of the {@code take} largest of {@code sc[0..m)}, by decreasing score, ties in
     * index order (torch.topk's order among equal scores is unspecified). At 800x1333 a level has
     * up to 1.5 million candidates and keeps 1000, so the cut-off score is found on a primitive
     * copy first and only the candidates above it are sorted.
     */
    static Integer[] topk(float[] sc, int m, int take) {
        int[] chosen = new int[take];
        if (take < m) {
            float[] sorted = Arrays.copyOf(sc, m);
            Arrays.sort(sorted);
            float cut = sorted[m - take]; // the take-th largest
            int n = 0;
            for (int i = 0; i < m; i++) if (sc[i] > cut) chosen[n++] = i;
            for (int i = 0; i < m && n < take; i++) if (sc[i] == cut) chosen[n++] = i;
        } else {
            for (int i = 0; i < take; i++) chosen[i] = i;
        }
        Integer[] order = new Integer[take];
        for (int i = 0; i < take; i++) order[i] = chosen[i];
        Arrays.sort(order, (p, q) -> Float.compare(sc[q], sc[p])); // stable: ties stay in index order
        return order;
    }

    /** torch.sigmoid in float32 (computed in double, rounded once). */
    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }
}
