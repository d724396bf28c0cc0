// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.NativeRouting;
import spindle.autograd.kernels.RoutingKernels;
import spindle.autograd.kernels.SmallKernels;

/**
 * A MoE router's selection and routing weights as one node: the k experts of each token with the largest key
 * (score + bias, without gradient; ties to the lower index, as {@link TopK}), and weights = their scores, divided
 * by the scores' sum when normalized, times a scale; differentiable with respect to the scores. It replaces a
 * top-k, a gather, a sum, a division and a scaling (some 30 ND4J ops a layer with their backward) by one kernel,
 * native for float32 of any size ({@link NativeRouting}), else the Java kernel ({@link RoutingKernels}).
 */
public final class TopKRouting {
    /**
     * @param indices [n, k] INT64 chosen experts, best first
     * @param chosen the same, token-major, as a Java array
     * @param weights [n, k] routing weights
     */
    public record Result(INDArray indices, long[] chosen, Tensor weights) {}

    private TopKRouting() {}

    /** True when a kernel takes scores [n, e] and bias [e] (or null): native, or the Java kernel's size limit. */
    public static boolean fits(Tensor scores, INDArray bias) {
        INDArray s = scores.value();
        if (s.rank() != 2 || bias != null && (bias.length() != s.size(1) || bias.dataType() != s.dataType())) {
            return false;
        }
        return NativeRouting.fits(s, bias) || SmallKernels.fit(s, bias);
    }

    /** The routing of scores [n, e] (see the class comment), for inputs {@link #fits} accepts. */
    public static Result route(Tensor scores, INDArray bias, int k, boolean normalize, double scale) {
        INDArray s = scores.value();
        if (!fits(scores, bias) || k < 1 || k > s.size(1)) {
            throw new IllegalArgumentException("TopKRouting: scores " + Arrays.toString(s.shape()) + " (" + s.dataType()
                + "), bias " + (bias == null ? "none" : Arrays.toString(bias.shape())) + ", k = " + k
                + ": needs [n, e] with 1 <= k <= e and a bias [e] of the scores' dtype, in a kernel's reach");
        }
        int n = (int) s.size(0);
        int e = (int) s.size(1);
        return NativeRouting.fits(s, bias) ? nativeRoute(scores, bias, n, k, normalize, scale)
            : javaRoute(scores, bias, n, e, k, normalize, scale);
    }

    private static Result nativeRoute(Tensor scores, INDArray bias, int n, int k, boolean normalize, double scale) {
        INDArray indices = Nd4j.createUninitialized(DataType.LONG, n, k);
        INDArray weights = Nd4j.createUninitialized(DataType.FLOAT, n, k);
        NativeRouting.forward(scores.value(), bias, k, normalize, scale, indices, weights);
        Tensor w = Tape.record("topk_routing", weights, g -> {
            INDArray go = NativeKernels.denseFloats(g.out()) ? g.out() : g.out().dup('c');
            INDArray ds = Nd4j.createUninitialized(DataType.FLOAT, scores.shape());
            NativeRouting.backward(scores.value(), indices, go, k, normalize, scale, ds);
            g.add(0, ds);
        }, scores);
        return new Result(indices, Dense.longs(indices), w);
    }

    private static Result javaRoute(Tensor scores, INDArray bias, int n, int e, int k, boolean normalize,
                                    double scale) {
        DataType dtype = scores.dtype();
        long[] chosen = new long[n * k];
        double[] w = Dense.scratch(2, n * k);
        double[] b = bias == null ? null : Dense.read(bias, 1).clone();
        RoutingKernels.forward(Dense.read(scores.value(), 0), b, n, e, k, dtype == DataType.FLOAT, normalize, scale,
            chosen, w);
        INDArray indices = Nd4j.createUninitialized(DataType.LONG, n, k);
        indices.data().asNioLong().put(chosen);
        Tensor weights = Tape.record("topk_routing", Dense.array(w, dtype, n, k), g -> {
            double[] ds = Dense.scratch(2, n * e);
            RoutingKernels.backward(Dense.read(scores.value(), 0), chosen, Dense.read(g.out(), 1), n, e, k, normalize,
                scale, ds);
            g.add(0, Dense.array(ds, dtype, n, e));
        }, scores);
        return new Result(indices, chosen, weights);
    }
}
