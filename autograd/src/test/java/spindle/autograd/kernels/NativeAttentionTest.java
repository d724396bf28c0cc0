// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Autograd;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Attention;
import spindle.testing.NativeRequirement;

/**
 * The native causal softmax and dP-to-dS step (attention.c) against their Java twins, bit for bit, on blocks
 * small and above the Java kernels' default limit, with edge values (infinities, NaN at seen and at masked keys,
 * zeros of both signs, subnormals, huge scores, a row of -inf); and causal attention's value and gradients on both
 * paths for a tiny-llama-sized block.
 */
class NativeAttentionTest {
    /** {rows, keys, queries}: rows are stacked blocks of `queries` queries (query heads of a group, batches). */
    private static final int[][] SHAPES = {{5, 7, 5}, {3 * 4, 4, 4}, {2, 3, 1}, {2 * 8 * 64, 192, 64}, {6, 300, 3}};

    @Test
    void causalSoftmaxEqualsTheJavaTwinBitForBit() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(11);
        for (int[] s : SHAPES) {
            for (double range : new double[] {30, 60}) {   // at 60, exps below -87: float32's subnormal range
                softmaxEqualsTheJavaTwin(s, values(rng, s[0] * s[1], range));
            }
        }
    }

    private static void softmaxEqualsTheJavaTwin(int[] s, float[] v) {
        INDArray nat = Nd4j.create(v.clone(), new long[] {s[0], s[1]}, 'c');
        INDArray java = Nd4j.create(v.clone(), new long[] {s[0], s[1]}, 'c');
        assertTrue(NativeAttention.fits(nat), "the native kernel takes the scores");
        AttentionKernels.causalSoftmaxInPlace(nat, s[2]);
        try (SmallKernels.Scope off = NativeKernels.off(); SmallKernels.Scope all = SmallKernels.limit(Long.MAX_VALUE)) {
            AttentionKernels.causalSoftmaxInPlace(java, s[2]);
        }
        assertSameBits("softmax " + Arrays.toString(s), java, nat, v);
    }

    @Test
    void scoreGradEqualsTheJavaTwinBitForBit() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(12);
        for (int[] s : new int[][] {{5, 7, 3}, {2, 3, 2}, {2 * 8 * 64, 192, 32}, {40, 9, 1000}}) {
            int rows = s[0], keys = s[1], dv = s[2];
            float[] dp = values(rng, rows * keys, 3);
            INDArray nat = Nd4j.create(dp.clone(), new long[] {rows, keys}, 'c');
            INDArray java = Nd4j.create(dp.clone(), new long[] {rows, keys}, 'c');
            INDArray p = Nd4j.create(values(rng, rows * keys, 1), new long[] {rows, keys}, 'c');
            INDArray dO = Nd4j.create(values(rng, rows * dv, 3), new long[] {rows, dv}, 'c');
            INDArray o = Nd4j.create(values(rng, rows * dv, 3), new long[] {rows, dv}, 'c');
            assertTrue(NativeAttention.fits(nat, p, dO, o), "the native kernel takes the arrays");
            AttentionKernels.scoreGradInPlace(nat, p, dO, o);
            try (SmallKernels.Scope off = NativeKernels.off(); SmallKernels.Scope all = SmallKernels.limit(Long.MAX_VALUE)) {
                AttentionKernels.scoreGradInPlace(java, p, dO, o);
            }
            assertSameBits("score gradient " + Arrays.toString(s), java, nat, dp);
        }
    }

    @Test
    void causalAttentionGivesTheSameBitsOnBothPathsForATinyLlamaBlock() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(13);
        long[] qs = {2, 8, 128, 32};
        long[] kvs = {2, 4, 128, 32};   // scores [2, 4, 2·128, 128] per block: 262,144 elements
        Tensor q = tensor(rng, qs);
        Tensor k = tensor(rng, kvs);
        Tensor v = tensor(rng, kvs);
        INDArray seed = Nd4j.create(values(rng, 2 * 8 * 128 * 32, 1), qs, 'c');
        List<INDArray> nat;
        List<INDArray> java;
        try (SmallKernels.Scope blas = NativeGemm.off()) {   // the products on one path for both (NativeGemmTest's)
            nat = run(q, k, v, seed);
            try (SmallKernels.Scope off = NativeKernels.off(); SmallKernels.Scope all = SmallKernels.limit(Long.MAX_VALUE)) {
                java = run(q, k, v, seed);
            }
        }
        String[] what = {"output", "dq", "dk", "dv"};
        for (int i = 0; i < what.length; i++) {
            assertSameBits(what[i], java.get(i), nat.get(i), null);
        }
    }

    private static List<INDArray> run(Tensor q, Tensor k, Tensor v, INDArray seed) {
        Tensor[] in = {Tensor.of(q.value().dup()).requiresGrad(true), Tensor.of(k.value().dup()).requiresGrad(true),
            Tensor.of(v.value().dup()).requiresGrad(true)};
        Tensor out = Attention.causal(in[0], in[1], in[2], 0.25, null, 2);
        List<INDArray> grads = Autograd.grad(List.of(out), List.of(in), List.of(seed), false);
        return List.of(out.value(), grads.get(0), grads.get(1), grads.get(2));
    }

    private static Tensor tensor(SplittableRandom rng, long[] shape) {
        int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        return Tensor.of(Nd4j.create(values(rng, n, 2), shape, 'c'));
    }

    /** n random floats in [-range, range), with edge values sprinkled in after the first few. */
    static float[] values(SplittableRandom rng, int n, double range) {
        float[] edges = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, Float.MIN_VALUE,
            -1e-40f, 1e30f, -1e30f, 88.7f, -103f};
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = n > 16 && rng.nextInt(200) == 0 ? edges[rng.nextInt(edges.length)] : (float) rng.nextDouble(-range, range);
        }
        if (n > 400) {
            Arrays.fill(v, 0, 7, Float.NEGATIVE_INFINITY);   // a whole first row (7 keys or more) of -inf
        }
        return v;
    }

    /** Every element's float bits alike (every NaN counted alike). */
    static void assertSameBits(String what, INDArray java, INDArray nat, float[] input) {
        float[] j = java.dup('c').data().asFloat();
        float[] n = nat.dup('c').data().asFloat();
        assertEquals(j.length, n.length, what + ": length");
        for (int i = 0; i < j.length; i++) {
            int at = i;
            assertEquals(Float.floatToIntBits(j[i]), Float.floatToIntBits(n[i]), () -> what + " at " + at + ": java "
                + j[at] + ", native " + n[at] + (input == null ? "" : " (input " + input[at] + ")"));
        }
    }

    static void requireNative() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
    }
}
