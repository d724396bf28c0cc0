// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Conversion between safetensors' little-endian bytes and ND4J arrays, one dtype at a time. */
final class SafetensorsCodec {
    private SafetensorsCodec() {}

    /** Bytes per element of a safetensors dtype, or 0 when this reader does not know it. */
    static int width(String dtype) {
        return switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32", "I32" -> 4;
            case "BF16", "F16" -> 2;
            case "U8", "I8", "BOOL" -> 1;
            default -> 0;
        };
    }

    static INDArray decode(String dtype, long[] shape, ByteBuffer b) {
        int n = (int) (b.remaining() / width(dtype));
        INDArray flat = switch (dtype) {
            case "F32" -> {
                float[] v = new float[n];
                b.asFloatBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case "F64" -> {
                double[] v = new double[n];
                b.asDoubleBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case "I64" -> {
                long[] v = new long[n];
                b.asLongBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case "I32" -> {
                int[] v = new int[n];
                b.asIntBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case "BF16", "F16" -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    short bits = b.getShort();
                    v[i] = dtype.equals("BF16") ? Float.intBitsToFloat((bits & 0xffff) << 16) : halfToFloat(bits);
                }
                yield Nd4j.createFromArray(v);
            }
            default -> {
                byte[] v = new byte[n];
                b.get(v);
                INDArray bytes = Nd4j.createFromArray(v);
                yield switch (dtype) {
                    case "BOOL" -> bytes.castTo(DataType.BOOL);
                    case "I8" -> bytes;   // createFromArray(byte[]) is already int8
                    default -> bytes.castTo(DataType.UBYTE);
                };
            }
        };
        if (n == 0) {
            return Nd4j.create(flat.dataType(), shape);
        }
        return shape.length == 0 ? flat.reshape() : flat.reshape('c', shape);
    }

    /** BF16 or F16 bytes as a BFLOAT16 or HALF array: the bits are copied as they are. */
    static INDArray decodeNarrow(String dtype, long[] shape, ByteBuffer b) {
        INDArray out = Nd4j.createUninitialized(dtype.equals("BF16") ? DataType.BFLOAT16 : DataType.HALF, shape);
        if (out.length() > 0) {
            out.data().asNio().order(ByteOrder.LITTLE_ENDIAN).put(b);   // both little-endian 16-bit words
        }
        return out;
    }

    /** IEEE 754 half precision to float (Float.float16ToFloat arrived only in Java 20). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));   // inf or NaN
        }
        if (exponent == 0) {
            float subnormal = mantissa * 0x1p-24f;
            return sign == 0 ? subnormal : -subnormal;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    static String dtypeName(String key, DataType t) {
        return switch (t) {
            case FLOAT -> "F32";
            case DOUBLE -> "F64";
            case BFLOAT16 -> "BF16";
            case HALF -> "F16";
            case LONG -> "I64";
            case INT -> "I32";
            case UBYTE -> "U8";
            case BYTE -> "I8";
            case BOOL -> "BOOL";
            default -> throw new IllegalArgumentException("safetensors: tensor " + key + " has dtype " + t
                + "; writable dtypes are FLOAT, DOUBLE, BFLOAT16, HALF, LONG, INT, UBYTE, BYTE and BOOL");
        };
    }

    /** The little-endian bytes of {@code a} in C order, ready to write. */
    static ByteBuffer encode(String key, INDArray a) {
        String name = dtypeName(key, a.dataType());
        INDArray c = a.isView() || a.ordering() != 'c' ? a.dup('c') : a;
        int n = Math.toIntExact(c.length());
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact((long) n * width(name))).order(ByteOrder.LITTLE_ENDIAN);
        if (n > 0) {
            switch (name) {
                case "F32" -> b.asFloatBuffer().put(c.data().asFloat(), 0, n);
                case "F64" -> b.asDoubleBuffer().put(c.data().asDouble(), 0, n);
                case "I64" -> b.asLongBuffer().put(c.data().asLong(), 0, n);
                case "I32" -> b.asIntBuffer().put(c.data().asInt(), 0, n);
                case "BF16", "F16" -> {
                    // widening a 16-bit float to float32 is exact, so taking the bits back needs no rounding
                    float[] v = c.castTo(DataType.FLOAT).data().asFloat();
                    for (int i = 0; i < n; i++) {
                        b.putShort(name.equals("BF16") ? (short) (Float.floatToRawIntBits(v[i]) >>> 16) : exactHalf(v[i]));
                    }
                }
                default -> {
                    int[] v = c.castTo(DataType.INT).data().asInt();
                    for (int i = 0; i < n; i++) {
                        b.put((byte) v[i]);
                    }
                }
            }
        }
        return b.rewind();
    }

    /** The half-precision bits of a float that came from a half (exactly representable, so no rounding). */
    static short exactHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = (bits >>> 23) & 0xff;
        int mantissa = bits & 0x7fffff;
        if (exponent == 0xff) {
            return (short) (sign | 0x7c00 | (mantissa >>> 13) | (mantissa != 0 ? 0x200 : 0));   // inf or NaN
        }
        if (exponent >= 113) {
            return (short) (sign | ((exponent - 112) << 10) | (mantissa >>> 13));
        }
        if (exponent == 0) {
            return (short) sign;   // float subnormals are below half's range: only zero comes from a half
        }
        return (short) (sign | Math.round(Math.abs(f) * 0x1p24f));   // half subnormal: a multiple of 2^-24
    }
}
