// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.profiler.OpProfiler;
import org.nd4j.linalg.profiler.ProfilerConfig;
import spindle.autograd.Autograd;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;

/**
 * Runs an op on its Java-kernel path and on its ND4J path (the same inputs, the same output gradient) and
 * compares the values and the input gradients, NaN-safely: a NaN on one side must be a NaN on the other.
 */
public final class KernelPaths {
    private KernelPaths() {}

    /** What one run gave: the output, the gradient of every floating input, and the ND4J ops of the forward. */
    record Run(INDArray value, List<INDArray> grads, long forwardOps) {}

    /**
     * Runs f with the Java kernels limited to {@code limit} elements per array (0: ND4J only), the native kernels off
     * (their tests hold them to the Java kernels bit for bit).
     */
    static Run run(TensorFunction f, long limit, Tensor... inputs) {
        try (SmallKernels.Scope off = NativeKernels.off()) {
            return runAsIs(f, limit, inputs);
        }
    }

    /** f with the native kernels on (when in use) and the Java kernels off: native or ND4J. */
    static Run runNative(TensorFunction f, Tensor... inputs) {
        return runAsIs(f, 0, inputs);
    }

    private static Run runAsIs(TensorFunction f, long limit, Tensor... inputs) {
        Tensor[] in = new Tensor[inputs.length];
        List<Tensor> floating = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            boolean fl = inputs[i].dtype().isFPType();
            in[i] = Tensor.of(inputs[i].value().dup()).requiresGrad(fl);
            if (fl) {
                floating.add(in[i]);
            }
        }
        try (SmallKernels.Scope scope = SmallKernels.limit(limit)) {
            long before = countingOps();
            Tensor out = f.apply(in);
            long ops = stopCounting() - before;
            INDArray seed = uniform(new SplittableRandom(5), out.dtype(), out.shape());
            List<INDArray> grads = Autograd.grad(List.of(out), floating, List.of(seed), false);
            return new Run(out.value(), grads, ops);
        }
    }

    /** Asserts both paths agree within {@code tol} (relative to 1 + |ND4J's value|) in value and gradients. */
    static void assertPathsAgree(TensorFunction f, double tol, Tensor... inputs) {
        Run java = run(f, Long.MAX_VALUE, inputs);
        Run nd4j = run(f, 0, inputs);
        assertClose("value", nd4j.value(), java.value(), tol);
        assertEquals(nd4j.grads().size(), java.grads().size());
        for (int i = 0; i < java.grads().size(); i++) {
            assertClose("gradient of input " + i, nd4j.grads().get(i), java.grads().get(i), tol);
        }
    }

    static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        if (expected == null || actual == null) {
            assertEquals(expected == null, actual == null, what + ": one path gave no gradient");
            return;
        }
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertEquals(expected.dataType(), actual.dataType(), what + ": dtype");
        INDArray e = expected.castTo(DataType.DOUBLE).dup('c').reshape(expected.length());
        INDArray a = actual.castTo(DataType.DOUBLE).dup('c').reshape(actual.length());
        for (long i = 0; i < e.length(); i++) {
            double x = e.getDouble(i);
            double y = a.getDouble(i);
            boolean bothNaN = Double.isNaN(x) && Double.isNaN(y);
            if (!bothNaN && !(Math.abs(x - y) <= tol * (1 + Math.abs(x)))) {
                fail(what + " at flat index " + i + ": ND4J path " + x + ", Java path " + y + ", tol " + tol);
            }
        }
    }

    /**
     * Float32 arrays equal bit for bit (NaNs counted alike), as a native kernel and its Java twin must be, or a
     * native sum and ND4J's when both add in one order.
     */
    public static void assertSameBits(String what, INDArray expected, INDArray actual) {
        assertEquals(expected.dataType(), actual.dataType(), what + ": dtype");
        float[] e = expected.dup('c').data().asFloat();
        float[] a = actual.dup('c').data().asFloat();
        assertEquals(e.length, a.length, what + ": length");
        for (int i = 0; i < e.length; i++) {
            if (Float.floatToIntBits(e[i]) != Float.floatToIntBits(a[i])) {
                fail(what + " differs at flat index " + i + ": expected " + e[i] + ", got " + a[i]);
            }
        }
    }

    /** Uniform values in [-2, 2) of the given dtype and shape. */
    static INDArray uniform(SplittableRandom rng, DataType dtype, long... shape) {
        double[] v = new double[(int) Math.max(1, java.util.Arrays.stream(shape).reduce(1, (p, q) -> p * q))];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextDouble(-2, 2);
        }
        if (dtype == DataType.FLOAT) {   // built directly, not cast: a cast is an ND4J op the counts would see
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                f[i] = (float) v[i];
            }
            return Nd4j.createFromArray(f).reshape(shape);
        }
        INDArray d = Nd4j.create(v, shape, DataType.DOUBLE);
        return dtype == DataType.DOUBLE ? d : d.castTo(dtype);
    }

    static Tensor input(long seed, DataType dtype, long... shape) {
        return Tensor.of(uniform(new SplittableRandom(seed), dtype, shape));
    }

    /** Starts ND4J's op counter; returns the count so far. */
    private static long countingOps() {
        Nd4j.getExecutioner().setProfilingConfig(ProfilerConfig.builder().notOptimalArguments(false).build());
        Nd4j.getExecutioner().setProfilingMode(ProfilingMode.OPERATIONS);
        return OpProfiler.getInstance().getInvocationsCount();
    }

    private static long stopCounting() {
        long n = OpProfiler.getInstance().getInvocationsCount();
        Nd4j.getExecutioner().setProfilingMode(ProfilingMode.DISABLED);
        return n;
    }
}
