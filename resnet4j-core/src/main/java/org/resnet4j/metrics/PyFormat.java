package org.resnet4j.metrics;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Python's fixed-point format ({@code '{:.3f}'.format(v)}), which the reference summaries are
 * printed with. Python rounds the exact binary value half to even; Java's {@code %.3f} rounds
 * the shortest decimal string half up, so the two differ on values such as 0.0625 or 1.0005.
 */
final class PyFormat {
    private PyFormat() {}

    static String fixed(double v, int digits) {
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        String s = new BigDecimal(v).setScale(digits, RoundingMode.HALF_EVEN).toPlainString();
        // Python keeps the sign of a negative value that rounds to zero (and of -0.0)
        boolean negative = v < 0 || (v == 0 && 1 / v < 0);
        return negative && !s.startsWith("-") ? "-" + s : s;
    }
}
