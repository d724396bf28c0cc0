// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.KernelPaths.assertSameBits;

import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Autograd;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;
import spindle.testing.NativeRequirement;

/**
 * TopKRouting: native against the Java kernel bit for bit (indices, weights, the scores' gradient; ties, infinities,
 * zeros, NaN among the scores; above the Java kernel's default limit), the Java kernel against the ND4J chain it
 * replaces (top-k of score + bias, gather, division by the sum, scaling) in float64 with the same indices, ties in
 * index order, and the gradient against central differences.
 */
class TopKRoutingTest {
    private static final float[] EDGES = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f,
        Float.MIN_VALUE, 1e-40f, 1e30f, -Float.MAX_VALUE, Float.MAX_VALUE};

    @ParameterizedTest(name = "[{0},{1}] k={2} bias={3} normalize={4} scale={5}")
    @CsvSource({"7, 6, 3, false, true, 1", "9, 6, 3, true, true, 2.5", "33, 8, 2, true, false, 1",
        "5000, 8, 2, false, true, 1", "4100, 16, 6, true, false, 0.75"})
    void nativeEqualsTheJavaKernelBitForBit(int n, int e, int k, boolean withBias, boolean normalize, double scale) {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        INDArray scores = scores(n, e, DataType.FLOAT, 3);
        INDArray bias = withBias ? KernelPaths.uniform(new SplittableRandom(4), DataType.FLOAT, e) : null;
        Routed nat = routed(scores, bias, k, normalize, scale);
        Routed java;
        try (SmallKernels.Scope off = NativeKernels.off(); SmallKernels.Scope all = SmallKernels.limit(Long.MAX_VALUE)) {
            java = routed(scores, bias, k, normalize, scale);
        }
        assertArrayEquals(java.chosen, nat.chosen, "indices");
        assertArrayEquals(java.chosen, nat.indices.reshape(n * k).toLongVector(), "indices array");
        assertSameBits("weights", java.weights, nat.weights);
        assertSameBits("scores' gradient", java.grad, nat.grad);
    }

    @ParameterizedTest(name = "bias={0} normalize={1} scale={2}")
    @CsvSource({"false, true, 1", "true, true, 2.5", "true, false, 1", "false, false, 16"})
    void javaKernelMatchesTheNd4jChainInFloat64(boolean withBias, boolean normalize, double scale) {
        int n = 40;
        int e = 6;
        int k = 3;
        INDArray scores = Nd4j.rand(DataType.DOUBLE, n, e).addi(0.01);
        scores.getRow(3).assign(0.25);                        // a row of ties
        scores.putScalar(7, 1, scores.getDouble(7, 4));       // a tie of two
        INDArray bias = withBias ? Nd4j.rand(DataType.DOUBLE, e).muli(0.1) : null;
        Routed kernel;
        try (SmallKernels.Scope off = NativeKernels.off()) {
            kernel = routed(scores, bias, k, normalize, scale);
        }
        Tensor s = Tensor.of(scores.dup()).requiresGrad(true);
        INDArray key = bias == null ? scores : scores.add(bias);
        Tensor idx = TopK.topK(Tensor.of(key), k).indices();
        Tensor w = Indexing.gather(s, 1, idx);
        w = normalize ? Elementwise.div(w, Reductions.sum(w, true, 1)) : w;
        w = scale != 1 ? Elementwise.mulScalar(w, scale) : w;
        INDArray grad = Autograd.grad(List.of(w), List.of(s), List.of(seed(w.value())), false).get(0);
        assertArrayEquals(idx.value().reshape(n * k).toLongVector(), kernel.chosen, "indices, ties in index order");
        KernelPaths.assertClose("weights", w.value(), kernel.weights, 1e-15);
        KernelPaths.assertClose("scores' gradient", grad, kernel.grad, 1e-13);
    }

    @Test
    void tiesGoToTheLowerIndexAndOnlyChosenScoresGetAGradient() {
        INDArray scores = Nd4j.createFromArray(new double[][] {{0.2, 0.3, 0.3, 0.2}, {0.1, 0.1, 0.1, 0.7}});
        Tensor s = Tensor.of(scores).requiresGrad(true);
        TopKRouting.Result r = TopKRouting.route(s, null, 3, false, 1);
        assertArrayEquals(new long[] {1, 2, 0, 3, 0, 1}, r.chosen());
        Reductions.sum(r.weights()).backward();
        assertArrayEquals(new double[] {1, 1, 1, 0, 1, 1, 0, 1}, s.grad().reshape(8).toDoubleVector(), 0);
        TopKRouting.Result masked = TopKRouting.route(Tensor.of(Nd4j.createFromArray(new double[][] {{0.5, 0.1, 0.4}})),
            Nd4j.createFromArray(Double.NEGATIVE_INFINITY, 0.0, Double.NEGATIVE_INFINITY), 3, false, 1);
        assertArrayEquals(new long[] {1, 0, 2}, masked.chosen(), "-inf keys rank last, in index order");
    }

    @Test
    void gradientMatchesCentralDifferences() {
        GradCase.of(in -> TopKRouting.route(in[0], null, 2, true, 1.5).weights(), shape(5, 4)).withoutTies(0)
            .assertMatches(new SplittableRandom(71));
        GradCase.of(in -> TopKRouting.route(in[0], null, 3, false, 2).weights(), shape(3, 5)).withoutTies(0)
            .assertMatches(new SplittableRandom(72));
    }

    @Test
    void onlyScoresAKernelCanTakeFit() {
        Tensor s = Tensor.of(Nd4j.rand(DataType.FLOAT, 4, 6));
        assertTrue(TopKRouting.fits(s, null));
        assertFalse(TopKRouting.fits(s, Nd4j.rand(DataType.DOUBLE, 6)), "a bias of another dtype");
        assertFalse(TopKRouting.fits(s, Nd4j.rand(DataType.FLOAT, 5)), "a bias of another width");
        assertFalse(TopKRouting.fits(Tensor.of(Nd4j.rand(DataType.FLOAT, 2, 4, 6)), null), "rank 3");
    }

    private record Routed(long[] chosen, INDArray indices, INDArray weights, INDArray grad) {}

    private static Routed routed(INDArray scores, INDArray bias, int k, boolean normalize, double scale) {
        Tensor s = Tensor.of(scores.dup()).requiresGrad(true);
        TopKRouting.Result r = TopKRouting.route(s, bias, k, normalize, scale);
        INDArray grad = Autograd.grad(List.of(r.weights()), List.of(s), List.of(seed(r.weights().value())), false)
            .get(0);
        return new Routed(r.chosen(), r.indices(), r.weights().value(), grad);
    }

    private static INDArray seed(INDArray like) {
        return KernelPaths.uniform(new SplittableRandom(5), like.dataType(), like.shape());
    }

    /** Positive random scores with rows of ties and the edge values spread over them. */
    private static INDArray scores(int n, int e, DataType dtype, long seed) {
        INDArray v = KernelPaths.uniform(new SplittableRandom(seed), dtype, n, e);
        v.getRow(1).assign(0.5);
        for (int i = 0; i < EDGES.length && i + 2 < n; i++) {
            v.putScalar(i + 2, i % e, EDGES[i]);
        }
        return v;
    }
}
