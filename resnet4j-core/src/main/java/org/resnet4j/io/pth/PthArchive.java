package org.resnet4j.io.pth;

import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.resnet4j.io.WeightsFormatException;

/**
 * What every part of the .pth reader shares: the size limits, zip-entry access that refuses sizes
 * the stored bytes cannot produce, and error messages that name the file and quote what it holds
 * with a bounded length.
 */
final class PthArchive {
    private PthArchive() {}

    /** Most elements one tensor may have: the float[] limit, as in {@code Tensor.numel}. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 16;
    /** DEFLATE cannot expand data by more than about 1032:1 (RFC 1951 block limits); more is a zip bomb. */
    private static final long MAX_DEFLATE_RATIO = 1032;

    static ZipEntry entry(ZipFile zip, String name, Path file) throws WeightsFormatException {
        try {
            return zip.getEntry(name);
        } catch (RuntimeException e) {
            throw bad(file, "malformed zip entry " + quote(name) + ": " + e, e);
        }
    }

    /**
     * An entry's uncompressed size from the central directory, refusing sizes that its stored bytes
     * cannot produce, so that no later allocation or read trusts an inflated claim.
     */
    static long checkedSize(ZipFile zip, ZipEntry e, long fileSize, Path file) throws WeightsFormatException {
        long size = e.getSize(), csize = e.getCompressedSize();
        if (size < 0 || csize < 0) throw bad(file, "zip entry " + quote(e.getName()) + " has an unknown size");
        if (csize > fileSize) throw bad(file, "zip entry " + quote(e.getName()) + " claims " + csize + " compressed bytes in a " + fileSize + "-byte file");
        boolean stored = e.getMethod() == ZipEntry.STORED;
        if (stored ? size != csize : size / MAX_DEFLATE_RATIO > csize + 1) {
            throw bad(file, "zip entry " + quote(e.getName()) + " claims " + size + " bytes from " + csize
                    + " compressed bytes, more than " + (stored ? "a stored entry holds" : "DEFLATE can produce (zip bomb?)"));
        }
        return size;
    }

    static WeightsFormatException bad(Path file, String msg) {
        return bad(file, msg, null);
    }

    static WeightsFormatException bad(Path file, String msg, Throwable cause) {
        return new WeightsFormatException(file + ": " + msg, cause);
    }

    /** Keys and names come from the file, so bound their length in messages. */
    static String quote(String s) {
        return "'" + (s.length() > 200 ? s.substring(0, 200) + "..." : s) + "'";
    }
}
