// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.CombineKernels;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.NativeCombine;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;

/**
 * A MoE layer's output as one node: y[n] = Σ_k w[n, k] rows[row[n K + k]], the experts' output rows picked per
 * (token, slot) and weighted by the routing weights, differentiable in rows and weights. It replaces a row gather,
 * a broadcast product over [N, K, hidden] and a sum over K with their backward, native for float32 of any size
 * ({@link NativeCombine}), else the Java kernel ({@link CombineKernels}).
 */
public final class ExpertCombine {
    private ExpertCombine() {}

    /** True when a kernel takes rows [m, h] and weights [n, k] of one dtype. */
    public static boolean fits(Tensor rows, Tensor weights) {
        INDArray r = rows.value();
        INDArray w = weights.value();
        if (r.rank() != 2 || w.rank() != 2 || r.dataType() != w.dataType()) {
            return false;
        }
        return NativeCombine.fits(r, w) || SmallKernels.fit(r, w) && w.size(0) * r.size(1) <= SmallKernels.maxElements();
    }

    /** [n, h] for rows [m, h], weights [n, k] and row [n * k] (each in [0, m)), for inputs {@link #fits} accepts. */
    public static Tensor combine(Tensor rows, Tensor weights, long[] row) {
        long m = rows.size(0);
        if (!fits(rows, weights) || row.length != weights.value().length()
            || Arrays.stream(row).anyMatch(r -> r < 0 || r >= m)) {
            throw new IllegalArgumentException("ExpertCombine: rows " + Arrays.toString(rows.shape()) + ", weights "
                + Arrays.toString(weights.shape()) + " and " + row.length + " row indices: needs [m, h], [n, k] of one"
                + " dtype in a kernel's reach and n * k indices in [0, " + m + ")");
        }
        return NativeCombine.fits(rows.value(), weights.value()) ? nativeCombine(rows, weights, row)
            : javaCombine(rows, weights, row);
    }

    private static Tensor nativeCombine(Tensor rows, Tensor weights, long[] row) {
        long n = weights.size(0);
        INDArray index = Nd4j.createFromArray(row);
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, n, rows.size(1));
        NativeCombine.forward(rows.value(), index, weights.value(), y);
        return Tape.record("expert_combine", y, g -> {
            INDArray go = NativeKernels.denseFloats(g.out()) ? g.out() : g.out().dup('c');
            INDArray drows = g.needs(0) ? Nd4j.createUninitialized(DataType.FLOAT, rows.shape()) : null;
            INDArray dw = g.needs(1) ? Nd4j.createUninitialized(DataType.FLOAT, weights.shape()) : null;
            NativeCombine.backward(rows.value(), index, weights.value(), go, drows, dw);
            if (drows != null) {
                g.add(0, drows);
            }
            if (dw != null) {
                g.add(1, dw);
            }
        }, rows, weights);
    }

    private static Tensor javaCombine(Tensor rows, Tensor weights, long[] row) {
        int m = (int) rows.size(0);
        int h = (int) rows.size(1);
        int n = (int) weights.size(0);
        int k = (int) weights.size(1);
        DataType dtype = rows.dtype();
        double[] y = Dense.scratch(2, n * h);
        CombineKernels.forward(Dense.read(rows.value(), 0), row, Dense.read(weights.value(), 1), n, k, h, y);
        return Tape.record("expert_combine", Dense.array(y, dtype, n, h), g -> {
            double[] drows = g.needs(0) ? Dense.scratch(3, m * h) : null;
            double[] dw = g.needs(1) ? new double[n * k] : null;
            CombineKernels.backward(Dense.read(rows.value(), 0), m, row, Dense.read(weights.value(), 1),
                Dense.read(g.out(), 2), n, k, h, dtype == DataType.FLOAT, drows, dw);
            if (drows != null) {
                g.add(0, Dense.array(drows, dtype, m, h));
            }
            if (dw != null) {
                g.add(1, Dense.array(dw, dtype, n, k));
            }
        }, rows, weights);
    }
}
