// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * The arithmetic of one floating dtype, so that float32 fake quantization rounds like torch's float32 kernels:
 * each operation is done in double and rounded to float once, which gives the correctly rounded float result
 * for +, -, * and / of float operands.
 */
enum Precision {
    FLOAT32(Float.MIN_NORMAL),
    FLOAT64(Double.MIN_NORMAL);

    /** torch.finfo(torch.float32).eps, the floor of activation scales whatever the dtype. */
    static final double FLOAT32_EPS = 0x1p-23;

    private final double smallestNormal;

    Precision(double smallestNormal) {
        this.smallestNormal = smallestNormal;
    }

    static Precision of(DataType dtype, String op) {
        return switch (dtype) {
            case FLOAT -> FLOAT32;
            case DOUBLE -> FLOAT64;
            default -> throw new IllegalArgumentException(op + ": fake quantization needs a float32 or float64 "
                + "tensor but got " + dtype);
        };
    }

    /** v rounded to this dtype. */
    double r(double v) {
        return this == FLOAT32 ? (float) v : v;
    }

    /** torch.finfo(dtype).smallest_normal: the floor of symmetric weight scales. */
    double smallestNormal() {
        return smallestNormal;
    }
}
