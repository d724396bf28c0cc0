// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Reductions.sum;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;

/** Test fixtures: parameters with given values and gradients made by a real backward. */
final class Grads {
    private Grads() {}

    /** A leaf that requires grad, holding {@code values} in the given shape. */
    static Tensor param(DataType dtype, long[] shape, double... values) {
        return Tensor.of(Nd4j.createFromArray(values).castTo(dtype).reshape(shape)).requiresGrad(true);
    }

    /** Sets p.grad to {@code g} (p's shape) through backward of sum(p * g). */
    static void set(Tensor p, double... g) {
        p.zeroGrad();
        INDArray c = Nd4j.createFromArray(g).castTo(p.dtype()).reshape(p.shape());
        try (Tensor loss = sum(mul(p, Tensor.of(c)))) {
            loss.backward();
        }
    }

    /** The value of {@code p}, flattened, as doubles. */
    static double[] values(Tensor p) {
        return p.value().dup().reshape(-1).toDoubleVector();
    }

    /** The gradient of {@code p}, flattened, as doubles. */
    static double[] grad(Tensor p) {
        return p.grad().dup().reshape(-1).toDoubleVector();
    }
}
