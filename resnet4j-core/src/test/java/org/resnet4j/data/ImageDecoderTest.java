package org.resnet4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.resnet4j.tensor.Tensor;

/** Damaged, oversized and unusual files, generated here: refused naming the file, or decoded as PIL decodes them. */
class ImageDecoderTest {
    @TempDir
    Path dir;

    @AfterEach
    void resetLimit() {
        ImageDecoder.setMaxPixels(ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    /** A 64x64 picture with detail everywhere, so every part of the file holds pixels. */
    static BufferedImage picture(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) img.setRGB(x, y, ((x * 4) << 16) | ((y * 4) << 8) | r.nextInt(256));
        }
        return img;
    }

    private Path write(String name, byte[] bytes) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    private static byte[] encode(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), format);
        return out.toByteArray();
    }

    private static void assertRefused(Path f, String... words) {
        var e = assertThrows(CorruptImageException.class, () -> ImageDecoder.decode(f), f.toString());
        assertEquals(f, e.file());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        for (String w : words) assertTrue(e.getMessage().contains(w), "'" + w + "' not in: " + e.getMessage());
    }

    @Test
    void intactFilesDecodeAsBefore() throws Exception {
        BufferedImage img = picture(64, 64);
        Tensor png = ImageDecoder.decode(write("ok.png", encode(img, "png")));
        assertEquals(List3(3, 64, 64), Arrays.toString(png.shape()));
        assertEquals((img.getRGB(10, 20) & 0xff) / 255f, png.get(2, 20, 10), 0f, "PNG is lossless");
        Tensor jpg = ImageDecoder.decode(write("ok.jpg", encode(img, "jpg")));
        assertEquals(List3(3, 64, 64), Arrays.toString(jpg.shape()));
    }

    private static String List3(int a, int b, int c) {
        return Arrays.toString(new int[] {a, b, c});
    }

    @Test
    void truncatedJpegIsRefusedWhereverItIsCut() throws Exception {
        byte[] jpg = encode(picture(64, 64), "jpg");
        for (double at : new double[] {0.1, 0.25, 0.5, 0.75, 0.95}) {
            int n = (int) (jpg.length * at);
            assertRefused(write("cut" + n + ".jpg", Arrays.copyOf(jpg, n)), "cut" + n + ".jpg");
        }
    }

    @Test
    void truncatedPngIsRefusedMidIdat() throws Exception {
        byte[] png = encode(picture(64, 64), "png");
        int idat = indexOf(png, "IDAT".getBytes());
        assertTrue(idat > 0);
        int mid = idat + (png.length - idat) / 2;
        assertRefused(write("cut.png", Arrays.copyOf(png, mid)), "cut.png");
    }

    @Test
    void zeroByteAndGarbageFilesAreRefused() throws Exception {
        assertRefused(write("empty.jpg", new byte[0]), "empty file");
        assertRefused(write("noise.png", new byte[] {1, 2, 3, 4, 5, 6, 7, 8}), "not a readable image");
        assertRefused(dir.resolve("missing.png"), "no such file");
    }

    @Test
    void headersPastThePixelLimitAreRefusedBeforeDecoding() throws Exception {
        // a PNG whose IHDR declares 20000x20000 (CRC fixed up), the rest a tiny image's data
        byte[] png = encode(picture(8, 8), "png");
        int ihdr = indexOf(png, "IHDR".getBytes());
        ByteBuffer.wrap(png, ihdr + 4, 8).putInt(20000).putInt(20000);
        CRC32 crc = new CRC32();
        crc.update(png, ihdr, 17);
        ByteBuffer.wrap(png, ihdr + 17, 4).putInt((int) crc.getValue());
        long t0 = System.nanoTime();
        assertRefused(write("bomb.png", png), "bomb.png", "20000x20000", "400,000,000 pixels", "89,478,485");
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "refused from the header, not by decoding 400 M pixels");

        // a JPEG whose SOF0 declares 20000x20000
        byte[] jpg = encode(picture(8, 8), "jpg");
        int sof = indexOf(jpg, new byte[] {(byte) 0xFF, (byte) 0xC0});
        ByteBuffer.wrap(jpg, sof + 5, 4).putShort((short) 20000).putShort((short) 20000);
        assertRefused(write("bomb.jpg", jpg), "bomb.jpg", "20000x20000");

        // the limit is a setting: 64x64 = 4096 pixels passes at 4096 and is refused at 4095
        Path ok = write("ok.png", encode(picture(64, 64), "png"));
        ImageDecoder.setMaxPixels(4096);
        ImageDecoder.decode(ok);
        ImageDecoder.setMaxPixels(4095);
        assertRefused(ok, "4,096 pixels", "4,095");
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.setMaxPixels(0));
    }

    @Test
    void sixteenBitPngDecodes() throws Exception {
        BufferedImage img = new BufferedImage(16, 8, BufferedImage.TYPE_USHORT_GRAY);
        WritableRaster r = img.getRaster();
        for (int y = 0; y < 8; y++) for (int x = 0; x < 16; x++) r.setSample(x, y, 0, x * 4096 + y);
        Tensor t = ImageDecoder.decode(write("deep.png", encode(img, "png")));
        assertEquals(List3(3, 8, 16), Arrays.toString(t.shape()));
        assertEquals((5 * 4096 + 3) / 65535f, t.get(0, 3, 5), 1e-6f);
        assertEquals(t.get(0, 3, 5), t.get(2, 3, 5), 0f, "grey in all three planes");
    }

    @Test
    void cmykJpegDecodesAsPilConvertsIt() throws Exception {
        // four-component JPEG written from a raw raster (no Adobe marker: the components are C, M, Y, K)
        int w = 16, h = 16;
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) raster.setPixel(x, y, new int[] {0, 0, 255, 0}); // yellow
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            var param = writer.getDefaultWriteParam();
            param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(1f);
            writer.write(null, new IIOImage(raster, null, null), param);
        } finally {
            writer.dispose();
        }
        Tensor t = ImageDecoder.decode(write("cmyk.jpg", bytes.toByteArray()));
        assertEquals(List3(3, h, w), Arrays.toString(t.shape()));
        // C=0, M=0, Y=255, K=0 -> R = 255, G = 255, B = 0 (JPEG rounding aside)
        assertEquals(1f, t.get(0, 8, 8), 0.03f);
        assertEquals(1f, t.get(1, 8, 8), 0.03f);
        assertEquals(0f, t.get(2, 8, 8), 0.03f);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    void theHeaderAloneGivesTheSizeAndACallsOwnLimitRefusesFromIt() throws Exception {
        ByteArrayOutputStream png = new ByteArrayOutputStream(), jpg = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(37, 21, BufferedImage.TYPE_INT_RGB), "png", png);
        ImageIO.write(new BufferedImage(40, 30, BufferedImage.TYPE_3BYTE_BGR), "jpg", jpg);
        assertEquals(new ImageDecoder.Header("PNG", 37, 21), ImageDecoder.header(png.toByteArray(), "a.png"));
        assertEquals(1200, ImageDecoder.header(jpg.toByteArray(), "b.jpg").pixels());
        var e = assertThrows(CorruptImageException.class, () -> ImageDecoder.decode(png.toByteArray(), "a.png", 37 * 21 - 1));
        assertTrue(e.getMessage().contains("a.png") && e.getMessage().contains("this call's limit of 776"), e.getMessage());
        assertEquals(37, ImageDecoder.decode(png.toByteArray(), "a.png", 37 * 21).dim(2));
        var bad = assertThrows(CorruptImageException.class, () -> ImageDecoder.header(new byte[] {1, 2, 3}, "c.bin"));
        assertTrue(bad.getMessage().contains("c.bin") && bad.getMessage().contains("not a readable image"), bad.getMessage());
        assertThrows(CorruptImageException.class, () -> ImageDecoder.header(new byte[0], "d.bin"));
    }
}
