package org.resnet4j.io.onnx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The few pieces of the protocol buffers wire format that an ONNX file needs, written by hand so
 * that the main jar carries no protobuf runtime. Encoding as in the protobuf "Encoding" guide:
 * each field is a varint key {@code (field_number << 3) | wire_type}, followed by a varint
 * (wire type 0), 4 little-endian bytes (type 5) or a varint length and that many bytes (type 2:
 * strings, bytes, embedded messages).
 *
 * <p>A {@link Msg} records its fields and computes its encoded size before anything is written,
 * so a length-prefixed message is streamed straight to the file: a model's weights are written
 * from the tensors' own {@code float[]}s and never copied into one big buffer.
 *
 * <p>Field numbers are those of onnx/onnx.proto (IR version 8); they are collected in the nested
 * constant classes below so that the exporter reads like the schema.
 */
final class OnnxProto {
    private OnnxProto() {}

    static final int WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5;

    /** ModelProto. */
    static final class Model {
        static final int IR_VERSION = 1, PRODUCER_NAME = 2, PRODUCER_VERSION = 3, DOC_STRING = 6, GRAPH = 7,
                OPSET_IMPORT = 8;
    }

    /** OperatorSetIdProto. */
    static final class OpsetId {
        static final int DOMAIN = 1, VERSION = 2;
    }

    /** GraphProto. */
    static final class Graph {
        static final int NODE = 1, NAME = 2, INITIALIZER = 5, DOC_STRING = 10, INPUT = 11, OUTPUT = 12;
    }

    /** NodeProto. */
    static final class Node {
        static final int INPUT = 1, OUTPUT = 2, NAME = 3, OP_TYPE = 4, ATTRIBUTE = 5;
    }

    /** AttributeProto, and its AttributeType enum values. */
    static final class Attribute {
        static final int NAME = 1, F = 2, I = 3, S = 4, INTS = 8, TYPE = 20;
        static final int TYPE_FLOAT = 1, TYPE_INT = 2, TYPE_STRING = 3, TYPE_INTS = 7;
    }

    /** TensorProto, and the TensorProto.DataType values used here. */
    static final class Tensor {
        static final int DIMS = 1, DATA_TYPE = 2, NAME = 8, RAW_DATA = 9;
        static final int FLOAT = 1, INT64 = 7;
    }

    /** ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto and its Dimension. */
    static final class ValueInfo {
        static final int NAME = 1, TYPE = 2;
        static final int TYPE_TENSOR_TYPE = 1;
        static final int TENSOR_ELEM_TYPE = 1, TENSOR_SHAPE = 2;
        static final int SHAPE_DIM = 1;
        static final int DIM_VALUE = 1, DIM_PARAM = 2;
    }

    /** One protobuf message under construction; fields are encoded in the order they are added. */
    static final class Msg {
        /** byte[] (already encoded fields), Nested (a length-prefixed message) or FloatPayload. */
        private final List<Object> parts = new ArrayList<>();
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private long size = -1;

        private record Nested(int field, Msg msg) {}

        /** A length-delimited field whose bytes are {@code data} as little-endian float32 (TensorProto.raw_data). */
        private record FloatPayload(int field, float[] data) {}

        Msg varint(int field, long value) {
            key(field, WIRE_VARINT);
            writeVarint(pending, value);
            return this;
        }

        /** A repeated integer field, one key per element (proto2's default, non-packed encoding). */
        Msg varints(int field, long... values) {
            for (long v : values) varint(field, v);
            return this;
        }

        Msg float32(int field, float value) {
            key(field, WIRE_FIXED32);
            int bits = Float.floatToIntBits(value);
            for (int i = 0; i < 4; i++) pending.write(bits >>> (8 * i));
            return this;
        }

        Msg string(int field, String value) {
            return bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Msg bytes(int field, byte[] value) {
            key(field, WIRE_LEN);
            writeVarint(pending, value.length);
            pending.writeBytes(value);
            return this;
        }

        Msg message(int field, Msg m) {
            flush();
            parts.add(new Nested(field, m));
            return this;
        }

        /** float32 data, little-endian, as one length-delimited field; written from {@code data} itself. */
        Msg floatsLE(int field, float[] data) {
            flush();
            parts.add(new FloatPayload(field, data));
            return this;
        }

        /** int64 data, little-endian, as one length-delimited field. */
        Msg longsLE(int field, long[] data) {
            ByteBuffer b = ByteBuffer.allocate(8 * data.length).order(ByteOrder.LITTLE_ENDIAN);
            for (long v : data) b.putLong(v);
            return bytes(field, b.array());
        }

        private void key(int field, int wireType) {
            if (size >= 0) throw new IllegalStateException("message already measured");
            writeVarint(pending, ((long) field << 3) | wireType);
        }

        private void flush() {
            if (size >= 0) throw new IllegalStateException("message already measured");
            if (pending.size() > 0) {
                parts.add(pending.toByteArray());
                pending.reset();
            }
        }

        /** Encoded size in bytes (without this message's own key and length). Freezes the message. */
        long size() {
            if (size < 0) {
                flush();
                long n = 0;
                for (Object p : parts) {
                    switch (p) {
                        case byte[] b -> n += b.length;
                        case Nested m -> n += lengthDelimitedSize(m.field, m.msg.size());
                        case FloatPayload f -> n += lengthDelimitedSize(f.field, 4L * f.data.length);
                        default -> throw new AssertionError(p);
                    }
                }
                size = n;
            }
            return size;
        }

        void writeTo(OutputStream out) throws IOException {
            size();
            ByteBuffer chunk = null;
            for (Object p : parts) {
                switch (p) {
                    case byte[] b -> out.write(b);
                    case Nested m -> {
                        writeKeyAndLength(out, m.field, m.msg.size());
                        m.msg.writeTo(out);
                    }
                    case FloatPayload f -> {
                        writeKeyAndLength(out, f.field, 4L * f.data.length);
                        if (chunk == null) chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                        for (int i = 0; i < f.data.length; ) {
                            int n = Math.min(chunk.capacity() / 4, f.data.length - i);
                            chunk.clear();
                            chunk.asFloatBuffer().put(f.data, i, n);
                            out.write(chunk.array(), 0, 4 * n);
                            i += n;
                        }
                    }
                    default -> throw new AssertionError(p);
                }
            }
        }
    }

    private static long lengthDelimitedSize(int field, long len) {
        return varintSize(((long) field << 3) | WIRE_LEN) + varintSize(len) + len;
    }

    private static void writeKeyAndLength(OutputStream out, int field, long len) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(16);
        writeVarint(b, ((long) field << 3) | WIRE_LEN);
        writeVarint(b, len);
        b.writeTo(out);
    }

    /** Base-128 varint, least significant group first; a negative int64 takes all 10 bytes (two's complement). */
    static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    static int varintSize(long v) {
        int n = 1;
        while ((v & ~0x7FL) != 0) {
            n++;
            v >>>= 7;
        }
        return n;
    }
}
