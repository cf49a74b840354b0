package org.resnet4j.data;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.resnet4j.tensor.Tensor;

/**
 * Strict image decoding, as PIL's defaults are strict (and so torchvision's loaders):
 * <ul>
 *   <li>a truncated file is refused, not padded with grey: ImageIO's JPEG reader only warns
 *       ("Premature end of JPEG file") and fills the rest, so any warning from the reader refuses
 *       the file, as PIL raises "image file is truncated" unless LOAD_TRUNCATED_IMAGES is set;</li>
 *   <li>the pixel count is read from the header and checked before any pixel is decoded, against
 *       {@link #maxPixels()} (default {@value #DEFAULT_MAX_PIXELS}, PIL's
 *       {@code Image.MAX_IMAGE_PIXELS}), so a small file that declares a huge image (a
 *       decompression bomb) costs nothing;</li>
 *   <li>CMYK JPEGs (which ImageIO inverts as if every one came from Adobe, and whose RGB view it
 *       renders black) are taken as their stored bands, inverted only under Adobe's APP14 marker
 *       as PIL's JPEG plugin does, and converted as PIL's {@code convert("RGB")}:
 *       R = (255 - C)(255 - K) / 255, and so on.</li>
 * </ul>
 * Every refusal is a {@link CorruptImageException} naming the file.
 */
public final class ImageDecoder {
    /** PIL's Image.MAX_IMAGE_PIXELS: 1024 * 1024 * 1024 / 4 / 3. */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;
    private static volatile long maxPixels = DEFAULT_MAX_PIXELS;

    private ImageDecoder() {}

    /** The largest width x height decoded; larger images are refused from their header. */
    public static long maxPixels() {
        return maxPixels;
    }

    /** Sets {@link #maxPixels()} for every decode in this JVM (PIL: {@code Image.MAX_IMAGE_PIXELS = n}). */
    public static void setMaxPixels(long pixels) {
        if (pixels < 1) throw new IllegalArgumentException("the image pixel limit must be >= 1, got " + pixels);
        maxPixels = pixels;
    }

    /** Decodes one file to float32 RGB CHW in [0, 1] (grey images have their value in all three planes). */
    public static Tensor decode(Path file) throws CorruptImageException {
        if (!Files.isRegularFile(file)) throw new CorruptImageException(file, "no such file");
        return decode(file.toFile(), file, maxPixels);
    }

    /** Decodes image bytes (an upload, say) as {@link #decode(Path)} decodes a file; {@code name} names it in errors. */
    public static Tensor decode(byte[] bytes, String name) throws CorruptImageException {
        return decode(bytes, name, maxPixels);
    }

    /**
     * As {@link #decode(byte[], String)} with this call's own pixel limit (a server's, say, below
     * the JVM-wide {@link #maxPixels()}), checked from the header before any pixel is decoded.
     */
    public static Tensor decode(byte[] bytes, String name, long pixelLimit) throws CorruptImageException {
        Path where = Path.of(name);
        if (bytes.length == 0) throw new CorruptImageException(where, "empty file (0 bytes)");
        return decode(new java.io.ByteArrayInputStream(bytes), where, pixelLimit);
    }

    /** What an image's header declares: its format and size, read without decoding a pixel. */
    public record Header(String format, int width, int height) {
        public long pixels() {
            return (long) width * height;
        }
    }

    /**
     * The format and size from the header alone (microseconds, whatever the image's size), so a
     * caller can budget the decode before it runs; a header that no decoder recognises or that
     * declares an empty image is refused as {@link #decode} refuses it.
     */
    public static Header header(byte[] bytes, String name) throws CorruptImageException {
        Path where = Path.of(name);
        if (bytes.length == 0) throw new CorruptImageException(where, "empty file (0 bytes)");
        try (ImageInputStream in = new javax.imageio.stream.MemoryCacheImageInputStream(new java.io.ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new CorruptImageException(where, "not a readable image (no ImageIO decoder recognises its contents)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                String format = reader.getFormatName().toUpperCase(Locale.ROOT);
                int w = reader.getWidth(0), h = reader.getHeight(0);
                if (w < 1 || h < 1) throw new CorruptImageException(where, format + " header declares an empty image (" + w + "x" + h + ")");
                return new Header(format, w, h);
            } finally {
                reader.dispose();
            }
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(where, "cannot read the image header: " + e, e);
        }
    }

    /**
     * The inverse of {@link #decode}: a grey or RGB CHW tensor in [0, 1] as an RGB image, each
     * pixel drawn {@code scale} x {@code scale}, values clamped to [0, 1] and rounded to bytes (as
     * torchvision's to_pil_image). For previews, figures and generated test images.
     */
    public static BufferedImage toImage(Tensor chw, int scale) {
        if (chw.shape().length != 3 || (chw.dim(0) != 1 && chw.dim(0) != 3) || scale < 1) {
            throw new IllegalArgumentException("expected a 1- or 3-channel CHW image and scale >= 1, got " + java.util.Arrays.toString(chw.shape()) + ", " + scale);
        }
        int c = chw.dim(0), h = chw.dim(1), w = chw.dim(2);
        float[] d = chw.data();
        BufferedImage img = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h * scale; y++) {
            for (int x = 0; x < w * scale; x++) {
                int p = (y / scale) * w + x / scale;
                int r = byteOf(d[p]), g = c == 3 ? byteOf(d[h * w + p]) : r, b = c == 3 ? byteOf(d[2 * h * w + p]) : r;
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    private static int byteOf(float v) {
        return Math.max(0, Math.min(255, Math.round(v * 255)));
    }

    /**
     * A decoded RGB or grey CHW image with the channel count a model expects: a grey image is
     * repeated for a colour model, a colour image becomes its luma (ITU-R 601, as PIL's
     * convert("L")) for a grey one.
     */
    public static Tensor toChannels(Tensor img, int channels) {
        int c = img.dim(0), h = img.dim(1), w = img.dim(2);
        if (c == channels) return img;
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("cannot convert an image to " + channels + " channels");
        Tensor out = Tensor.zeros(channels, h, w);
        float[] s = img.data(), d = out.data();
        for (int i = 0; i < h * w; i++) {
            float v = c == 1 ? s[i] : 0.299f * s[i] + 0.587f * s[h * w + i] + 0.114f * s[2 * h * w + i];
            for (int k = 0; k < channels; k++) d[k * h * w + i] = v;
        }
        return out;
    }

    private static Tensor decode(Object input, Path file, long pixelLimit) throws CorruptImageException {
        BufferedImage img;
        try {
            img = read(input, file, pixelLimit);
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Decoders signal damaged data with IIOException but also with unchecked exceptions
            // (e.g. ArrayIndexOutOfBoundsException inside the JPEG reader); all mean "unreadable".
            throw new CorruptImageException(file, "cannot decode image: " + e, e);
        }
        try {
            return Images.toRgbTensor(img);
        } catch (RuntimeException e) {
            throw new CorruptImageException(file, "cannot convert image to RGB: " + e, e);
        }
    }

    private static BufferedImage read(Object input, Path file, long pixelLimit) throws IOException {
        // bytes in memory stay in memory (ImageIO would otherwise cache a stream in a temp file)
        try (ImageInputStream in = input instanceof java.io.InputStream is ? new javax.imageio.stream.MemoryCacheImageInputStream(is)
                : ImageIO.createImageInputStream(input)) {
            if (in == null) throw new CorruptImageException(file, "cannot open");
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new CorruptImageException(file, input instanceof java.io.File f && f.length() == 0 ? "empty file (0 bytes)"
                        : "not a readable image (no ImageIO decoder recognises its contents)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                String format = reader.getFormatName().toUpperCase(Locale.ROOT);
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w < 1 || h < 1) throw new CorruptImageException(file, format + " header declares an empty image (" + w + "x" + h + ")");
                if (w * h > pixelLimit) {
                    throw new CorruptImageException(file, String.format(Locale.ROOT, pixelLimit == maxPixels
                            ? "%s header declares %dx%d = %,d pixels, over the limit of %,d (PIL's MAX_IMAGE_PIXELS; "
                                    + "raise it with --max-image-pixels or the maxImagePixels config key)"
                            : "%s header declares %dx%d = %,d pixels, over this call's limit of %,d", format, w, h, w * h, pixelLimit));
                }
                List<String> warnings = new ArrayList<>();
                reader.addIIOReadWarningListener((r, warning) -> warnings.add(warning));
                BufferedImage img;
                try {
                    img = reader.read(0);
                } catch (javax.imageio.IIOException e) {
                    if (!isCmykJpeg(format, e)) throw e;
                    img = null;
                }
                if (img == null || img.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_CMYK) {
                    // ImageIO inverts every CMYK JPEG as if Adobe had written it, and its RGB view of the
                    // result is black: take the stored bands and convert them as PIL does
                    img = cmykToRgb(reader.readRaster(0, null), hasAdobeMarker(reader));
                }
                if (!warnings.isEmpty()) {
                    throw new CorruptImageException(file, format + " data is damaged or truncated (" + String.join("; ", warnings)
                            + "); refused rather than filled with grey, as PIL refuses it");
                }
                return img;
            } finally {
                reader.dispose();
            }
        }
    }

    private static boolean isCmykJpeg(String format, javax.imageio.IIOException e) {
        return format.equals("JPEG") && String.valueOf(e.getMessage()).contains("Unsupported Image Type");
    }

    /** Whether the JPEG has Adobe's APP14 marker, whose CMYK is stored inverted (PIL's rawmode "CMYK;I"). */
    private static boolean hasAdobeMarker(ImageReader reader) throws IOException {
        var meta = reader.getImageMetadata(0);
        if (meta == null) return false;
        var tree = (org.w3c.dom.Element) meta.getAsTree("javax_imageio_jpeg_image_1.0");
        return tree.getElementsByTagName("app14Adobe").getLength() > 0;
    }

    /** Four 8-bit bands C, M, Y, K (inverted when {@code adobe}) to RGB as PIL converts them. */
    private static BufferedImage cmykToRgb(Raster r, boolean adobe) throws javax.imageio.IIOException {
        if (r.getNumBands() != 4) throw new javax.imageio.IIOException("unsupported JPEG colour type with " + r.getNumBands() + " components");
        int w = r.getWidth(), h = r.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[4];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.getPixel(r.getMinX() + x, r.getMinY() + y, px);
                if (adobe) for (int i = 0; i < 4; i++) px[i] = 255 - px[i];
                int k = 255 - px[3];
                int red = (255 - px[0]) * k / 255, green = (255 - px[1]) * k / 255, blue = (255 - px[2]) * k / 255;
                out.setRGB(x, y, (red << 16) | (green << 8) | blue);
            }
        }
        return out;
    }
}
