// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A MoE router's top-k selection, routing weights and their gradient in native code (routing.c) for float32 scores
 * of any size: the same float64 arithmetic in the same order as {@link RoutingKernels}, so the indices are the same
 * and the weights and gradients bitwise the Java kernels'.
 */
public final class NativeRouting {
    private NativeRouting() {}

    /** True when the native kernel can take scores [n, e] and bias [e] (or null): library on, dense float32. */
    public static boolean fits(INDArray scores, INDArray bias) {
        return NativeKernels.enabled() && scores.rank() == 2 && NativeKernels.denseFloats(scores)
            && (bias == null || NativeKernels.denseFloats(bias) && bias.length() == scores.size(1));
    }

    /** Fills indices [n, k] (dense INT64) and weights [n, k] (dense float32) for scores [n, e], as the kernel says. */
    public static void forward(INDArray scores, INDArray bias, int k, boolean normalize, double scale, INDArray indices,
                               INDArray weights) {
        long n = check(scores, k);
        if (bias != null && (!NativeKernels.denseFloats(bias) || bias.length() != scores.size(1))) {
            throw new IllegalArgumentException("NativeRouting: bias must be dense float32 [" + scores.size(1) + "] but is "
                + bias.dataType() + " " + Arrays.toString(bias.shape()));
        }
        require(indices, DataType.LONG, n * k, "indices");
        require(weights, DataType.FLOAT, n * k, "weights");
        forward(NativeKernels.address(scores), bias == null ? 0 : NativeKernels.address(bias), n,
            (int) scores.size(1), k, normalize, scale, NativeKernels.address(indices), NativeKernels.address(weights));
    }

    /** ds [n, e] (dense float32, every value written) from the weights' gradient g [n, k] and the forward's indices. */
    public static void backward(INDArray scores, INDArray indices, INDArray g, int k, boolean normalize, double scale,
                                INDArray ds) {
        long n = check(scores, k);
        require(indices, DataType.LONG, n * k, "indices");
        long e = scores.size(1);
        long[] idx = Dense.longs(indices);   // checked here: native code must not write outside ds's rows
        for (long i : idx) {
            if (i < 0 || i >= e) {
                throw new IllegalArgumentException("NativeRouting: an index " + i + " lies outside [0, " + e + ")");
            }
        }
        require(g, DataType.FLOAT, n * k, "g");
        require(ds, DataType.FLOAT, n * e, "ds");
        backward(NativeKernels.address(scores), NativeKernels.address(indices), NativeKernels.address(g), n, (int) e, k,
            normalize, scale, NativeKernels.address(ds));
    }

    private static long check(INDArray scores, int k) {
        if (scores.rank() != 2 || !NativeKernels.denseFloats(scores) || k < 1 || k > scores.size(1)) {
            throw new IllegalArgumentException("NativeRouting: scores must be dense float32 [n, e] with 1 <= k <= e but"
                + " are " + scores.dataType() + " " + Arrays.toString(scores.shape()) + " with k = " + k);
        }
        return scores.size(0);
    }

    private static void require(INDArray a, DataType dtype, long length, String name) {
        if (a == null || a.dataType() != dtype || !NativeKernels.dense(a) || a.length() != length) {
            throw new IllegalArgumentException("NativeRouting: " + name + " must be a dense " + dtype + " array of "
                + length + " values but is " + (a == null ? "null" : a.dataType() + " of " + a.length()));
        }
    }

    private static native void forward(long scores, long bias, long n, int e, int k, boolean normalize, double scale,
                                       long indices, long weights);

    private static native void backward(long scores, long indices, long g, long n, int e, int k, boolean normalize,
                                        double scale, long ds);
}
