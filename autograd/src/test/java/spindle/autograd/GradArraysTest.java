// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static spindle.autograd.ops.KernelPaths.assertSameBits;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.profiler.OpProfiler;
import org.nd4j.linalg.profiler.ProfilerConfig;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Joins;
import spindle.autograd.ops.Shapes;
import spindle.testing.NativeRequirement;

/**
 * The engine's gradient copies and sums ({@link GradArrays}): float32 gradients that arrive as transposed or sliced
 * views (an expert weight stack's, say) reach leaves and pending sums without an ND4J op, bitwise what ND4J's
 * assign, dup and addi gave (the same float32 additions in the same order).
 */
class GradArraysTest {
    @Test
    void transposedStackGradientsReachLeavesWithoutNd4jOps() {
        requireNative();
        List<Tensor> w = leaves(3, 64, 48);
        // [E, out, in] -> [E, in, out]: each leaf's gradient is a transposed slice of the seed
        Function<List<Tensor>, Tensor> f = ws -> Shapes.transpose(Joins.stack(0, ws.toArray(Tensor[]::new)), 1, 2);
        INDArray seed = random(9, 3, 48, 64);
        List<INDArray> want = new ArrayList<>();
        try (SmallKernels.Scope off = NativeKernels.off()) {
            List<Tensor> ref = copies(w);
            f.apply(ref).backward(seed);           // first gradient: a copy
            f.apply(ref).backward(seed);           // then a sum into .grad
            ref.forEach(Tensor::zeroGradKeepingMemory);
            f.apply(ref).backward(seed.mul(3));    // then a copy into the kept array
            ref.forEach(t -> want.add(t.grad()));
        }
        INDArray tripled = seed.mul(3);
        Tensor first = f.apply(w);
        assertEquals(0, backwardOps(() -> first.backward(seed)), "ND4J ops of the first backward");
        Tensor second = f.apply(w);
        assertEquals(0, backwardOps(() -> second.backward(seed)), "ND4J ops of the accumulating backward");
        w.forEach(Tensor::zeroGradKeepingMemory);
        Tensor third = f.apply(w);
        assertEquals(0, backwardOps(() -> third.backward(tripled)), "ND4J ops into kept arrays");
        for (int i = 0; i < w.size(); i++) {
            assertSameBits("w" + i, want.get(i), w.get(i).grad());
        }
    }

    @Test
    void viewGradientsOfAnIntermediateSumWithoutNd4jOps() {
        requireNative();
        List<Tensor> x = leaves(1, 40, 24);
        // h feeds two transposes: its pending gradient is the sum of two transposed views of the add's gradient
        Function<List<Tensor>, Tensor> f = xs -> {
            Tensor h = Shapes.reshape(xs.get(0), 40, 24);
            return Elementwise.add(Shapes.transpose(h, 0, 1), Shapes.transpose(h, 1, 0));
        };
        INDArray seed = random(4, 24, 40);
        INDArray want;
        try (SmallKernels.Scope off = NativeKernels.off()) {
            List<Tensor> ref = copies(x);
            f.apply(ref).backward(seed);
            want = ref.get(0).grad();
        }
        Tensor out = f.apply(x);
        assertEquals(0, backwardOps(() -> out.backward(seed)), "ND4J ops of the backward");
        assertSameBits("x", want, x.get(0).grad());
    }

    @Test
    void summingIntoAnAdoptedGradientNeverWritesTheArraysItCameFrom() {
        requireNative();
        INDArray seed = random(8, 12, 10);
        INDArray seedBefore = seed.dup();
        Tensor x = Tensor.of(random(9, 12, 10)).requiresGrad(true);
        Elementwise.add(x, x).backward(seed);   // both contributions are the caller's seed: copied, then summed
        Tensor y = Tensor.of(random(10, 12, 10)).requiresGrad(true);
        Tensor h = Shapes.transpose(y, 0, 1);
        Elementwise.add(h, h).backward(seed.transpose());   // an intermediate's two borrowed views: a fresh sum
        assertSameBits("the caller's seed", seedBefore, seed);
        INDArray twice = seedBefore.add(seedBefore);
        assertSameBits("x.grad", twice, x.grad());
        assertSameBits("y.grad", twice, y.grad());
        assertNotSame(seed.data(), x.grad().data());
        assertNotSame(seed.data(), y.grad().data());
    }

    @Test
    void eachHelperIsBitwiseNd4jForDenseTransposedAndOffsetArrays() {
        requireNative();
        INDArray base = random(1, 6, 40, 40);
        List<INDArray> shapes = List.of(base.get(NDArrayIndex.point(2)), base.get(NDArrayIndex.point(3)).transpose(),
            random(2, 40, 40), random(3, 40, 40).transpose());
        for (INDArray a : shapes) {
            for (INDArray b : shapes) {
                INDArray sumNd4j = a.add(b);
                INDArray into = a.dup('c');
                assertSameBits("sum", sumNd4j, GradArrays.sum(a, b));
                assertSameBits("addInto", sumNd4j, GradArrays.addInto(into, b));
                assertSameBits("assign", b.dup('c'), GradArrays.assign(Nd4j.createUninitialized(DataType.FLOAT, 40, 40), b));
                INDArray copy = GradArrays.copy(b);
                assertNotSame(b.data(), copy.data());
                assertSameBits("copy", b.dup('c'), copy);
            }
        }
    }

    private static void requireNative() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
    }

    private static List<Tensor> leaves(int n, long... shape) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Tensor.of(random(20 + i, shape)).requiresGrad(true));
        }
        return out;
    }

    private static List<Tensor> copies(List<Tensor> ts) {
        return ts.stream().map(t -> Tensor.of(t.value().dup()).requiresGrad(true)).toList();
    }

    /** Uniform float32 values in [-2, 2), built without an ND4J op. */
    private static INDArray random(long seed, long... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        int n = (int) java.util.Arrays.stream(shape).reduce(1, (p, q) -> p * q);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextDouble(-2, 2);
        }
        return Nd4j.createFromArray(v).reshape(shape);
    }

    static long backwardOps(Runnable backward) {
        Nd4j.getExecutioner().setProfilingConfig(ProfilerConfig.builder().notOptimalArguments(false).build());
        Nd4j.getExecutioner().setProfilingMode(ProfilingMode.OPERATIONS);
        long before = OpProfiler.getInstance().getInvocationsCount();
        try {
            backward.run();
            return OpProfiler.getInstance().getInvocationsCount() - before;
        } finally {
            Nd4j.getExecutioner().setProfilingMode(ProfilingMode.DISABLED);
        }
    }
}
