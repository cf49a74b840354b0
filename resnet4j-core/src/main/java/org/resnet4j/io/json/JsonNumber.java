package org.resnet4j.io.json;

import java.math.BigDecimal;

/**
 * A JSON number exactly as written ({@link Json#parseExact}): its text, and its value on demand.
 * {@link #toString} gives the literal back, so a message can quote a value as the file has it.
 */
public final class JsonNumber extends Number {
    private static final long serialVersionUID = 1L;
    private final String text;

    JsonNumber(String text) {
        this.text = text;
    }

    /** The literal as written, e.g. {@code 1e30} or {@code -0.50}. */
    public String text() {
        return text;
    }

    /** The exact value; throws NumberFormatException for an exponent beyond int range. */
    public BigDecimal exact() {
        return new BigDecimal(text);
    }

    @Override
    public int intValue() {
        return (int) doubleValue();
    }

    @Override
    public long longValue() {
        return (long) doubleValue();
    }

    @Override
    public float floatValue() {
        return Float.parseFloat(text);
    }

    @Override
    public double doubleValue() {
        return Double.parseDouble(text);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JsonNumber n && n.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
