package org.resnet4j.segmentation;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.util.List;
import org.resnet4j.tensor.Tensor;

/**
 * Class-index masks as pictures: PASCAL VOC's colour palette, the mask as a palette PNG (what VOC's
 * SegmentationClass files are: 8-bit indices with the palette in the file, so any viewer shows the
 * colours and any reader gets the indices back), an overlay of the mask on its image, and the
 * argmax of a model's scores.
 */
public final class Masks {
    private Masks() {}

    /** PASCAL VOC's 21 class names, index 0 the background (torchvision's VOC categories). */
    public static final List<String> VOC_CLASSES = org.resnet4j.data.dense.VocSegmentation.CLASSES;

    /**
     * VOC's palette (the devkit's bitget colormap): the bits of the class index spread over the top
     * bits of red, green and blue in turn, so 0 is black, 1 dark red, 15 (person) pink, 255 (void)
     * the cream of the boundaries. {@code [256][3]} bytes as ints.
     */
    public static int[][] vocPalette() {
        int[][] p = new int[256][3];
        for (int c = 0; c < 256; c++) {
            int r = 0, g = 0, b = 0, v = c;
            for (int j = 0; j < 8; j++) {
                r |= ((v) & 1) << (7 - j);
                g |= ((v >> 1) & 1) << (7 - j);
                b |= ((v >> 2) & 1) << (7 - j);
                v >>= 3;
            }
            p[c] = new int[] {r, g, b};
        }
        return p;
    }

    /** The per-pixel argmax over classes of one image's scores {@code [K, H, W]} (ties: the lower class). */
    public static int[] argmax(Tensor scores) {
        if (scores.rank() != 3) throw new IllegalArgumentException("scores must be [K, H, W], got " + scores.shapeString());
        int k = scores.dim(0), plane = scores.dim(1) * scores.dim(2);
        float[] s = scores.data();
        int[] mask = new int[plane];
        for (int p = 0; p < plane; p++) {
            int best = 0;
            for (int c = 1; c < k; c++) if (s[c * plane + p] > s[best * plane + p]) best = c;
            mask[p] = best;
        }
        return mask;
    }

    /** The mask (values 0..255) as an 8-bit indexed image with VOC's palette, to write as a palette PNG. */
    public static BufferedImage toPaletteImage(int[] mask, int height, int width) {
        if (mask.length != height * width) throw new IllegalArgumentException("mask of " + mask.length + " pixels is not " + height + "x" + width);
        int[][] pal = vocPalette();
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        for (int c = 0; c < 256; c++) {
            r[c] = (byte) pal[c][0];
            g[c] = (byte) pal[c][1];
            b[c] = (byte) pal[c][2];
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 256, r, g, b));
        WritableRaster raster = img.getRaster();
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int v = mask[y * width + x];
                if (v < 0 || v > 255) throw new IllegalArgumentException("mask value " + v + " at (" + x + ", " + y + ") is not a byte");
                raster.setSample(x, y, 0, v);
            }
        }
        return img;
    }

    /** The indices of an indexed image (a palette PNG read back), row-major. */
    public static int[] fromPaletteImage(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        int[] mask = new int[w * h];
        img.getRaster().getSamples(0, 0, w, h, 0, mask);
        return mask;
    }

    /**
     * The image (RGB CHW in [0, 1]) with each non-background pixel blended half and half with its
     * class's palette colour: what torchvision's draw_segmentation_masks(alpha=0.5) shows.
     */
    public static BufferedImage overlay(Tensor image, int[] mask) {
        int h = image.dim(1), w = image.dim(2), plane = h * w;
        if (image.dim(0) != 3 || mask.length != plane) {
            throw new IllegalArgumentException("overlay needs an RGB image and a mask of its size, got " + image.shapeString() + " and " + mask.length + " pixels");
        }
        int[][] pal = vocPalette();
        float[] px = image.data();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int p = 0; p < plane; p++) {
            int[] rgb = new int[3];
            for (int c = 0; c < 3; c++) {
                double v = Math.min(1, Math.max(0, px[c * plane + p])) * 255;
                rgb[c] = (int) Math.round(mask[p] == 0 ? v : 0.5 * v + 0.5 * pal[mask[p]][c]);
            }
            out.setRGB(p % w, p / w, (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]);
        }
        return out;
    }
}
