// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.mulScalar;
import static spindle.autograd.ops.Elementwise.sub;
import static spindle.autograd.ops.Linalg.linear;
import static spindle.autograd.ops.Reductions.mean;
import static spindle.autograd.ops.Reductions.sum;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;

/**
 * The fixed problem the optimizer tests run, here and in optimizer_ref.py: least squares plus a quartic
 * term, L = mean((x W^T + b - y)^2) + 0.05 * sum(W^4), x [8, 4], W [4, 4], b [4]. Squares are products
 * and the mean divides by 32, so both sides form the gradient with the same roundings except inside the gemm.
 */
final class Problem {
    static final String WEIGHT = "model.layers.0.mlp.up_proj.weight";
    static final String BIAS = "model.layers.0.mlp.up_proj.bias";
    static final double QUARTIC = 0.05;

    final DataType dtype;
    final INDArray x;
    final INDArray y;
    final INDArray weight0;
    final INDArray bias0;

    private Problem(DataType dtype, INDArray x, INDArray y, INDArray weight0, INDArray bias0) {
        this.dtype = dtype;
        this.x = x;
        this.y = y;
        this.weight0 = weight0;
        this.bias0 = bias0;
    }

    /** The same numbers for every dtype (rounded to it): y is a noisy linear function of x. */
    static Problem create(DataType dtype) {
        var rng = new SplittableRandom(2024);
        double[][] x = gaussian(rng, 8, 4, 1.0);
        double[][] wTrue = gaussian(rng, 4, 4, 1.0);
        double[][] y = gaussian(rng, 8, 4, 0.1);
        for (int i = 0; i < 8; i++) {
            for (int o = 0; o < 4; o++) {
                y[i][o] += 0.3 * o;
                for (int k = 0; k < 4; k++) {
                    y[i][o] += x[i][k] * wTrue[o][k];
                }
            }
        }
        INDArray w0 = Nd4j.createFromArray(gaussian(rng, 4, 4, 0.5)).castTo(dtype);
        INDArray b0 = Nd4j.createFromArray(gaussian(rng, 1, 4, 0.5)[0]).castTo(dtype);
        return new Problem(dtype, Nd4j.createFromArray(x).castTo(dtype), Nd4j.createFromArray(y).castTo(dtype), w0, b0);
    }

    /** Fresh parameter leaves holding the initial values, named as in a Hugging Face state dict. */
    Map<String, Tensor> freshParams() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(WEIGHT, Tensor.of(weight0.dup()).requiresGrad(true));
        m.put(BIAS, Tensor.of(bias0.dup()).requiresGrad(true));
        return m;
    }

    /** Sets the parameters' grads to dL/dparam (after clearing them). */
    void backward(Map<String, Tensor> params) {
        Tensor w = params.get(WEIGHT);
        params.values().forEach(Tensor::zeroGrad);
        Tensor r = sub(linear(Tensor.of(x), w, params.get(BIAS)), Tensor.of(y));
        Tensor w2 = mul(w, w);
        try (Tensor loss = add(mean(mul(r, r)), mulScalar(sum(mul(w2, w2)), QUARTIC))) {
            loss.backward();
        }
    }

    /** The problem as JSON-able numbers, exactly the values of this dtype. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("x", x.toDoubleMatrix());
        m.put("y", y.toDoubleMatrix());
        m.put("weight", weight0.toDoubleMatrix());
        m.put("bias", bias0.toDoubleVector());
        m.put("quartic", QUARTIC);
        return m;
    }

    private static double[][] gaussian(SplittableRandom rng, int rows, int cols, double std) {
        double[][] a = new double[rows][cols];
        for (double[] row : a) {
            for (int j = 0; j < cols; j++) {
                row[j] = std * rng.nextGaussian();
            }
        }
        return a;
    }
}
