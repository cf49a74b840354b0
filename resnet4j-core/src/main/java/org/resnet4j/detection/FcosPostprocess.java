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
                // topk: the best min(topk, m) by decreasing score (stable: ties in index order)
                Integer[] order = new Integer[m];
                for (int i = 0; i < m; i++) order[i] = i;
                float[] fsc = sc;
                Arrays.sort(order, (p, q) -> Float.compare(fsc[q], fsc[p]));
                int take = Math.min(topkCandidates, m);
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

    /** torch.sigmoid in float32 (computed in double, rounded once). */
    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }
}
