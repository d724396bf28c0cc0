// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Autograd;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Linalg;
import spindle.autograd.ops.Reductions;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * Fake quantization is computed once per distinct activation tensor of a forward and once per weight version across
 * forwards (data-parallel replicas, micro-batches), and the loss and every gradient stay bitwise those of quantizing
 * at every use.
 */
class SharedQuantizationTest {
    private static final QatScheme S = QatScheme.INT8_DYN_ACT_INT4_WEIGHT;

    @Test
    void aModelQuantizesEachDistinctActivationOnceAndEachWeightOncePerVersion() {
        CausalLm model = QatModels.fromHfConfig(QatConvertTest.llama(false), DataType.DOUBLE, new QatConfig(S, 16))
            .model();
        model.loadStateDict(CausalLms.fromHfConfig(QatConvertTest.llama(false), DataType.DOUBLE, 5).stateDict(), true);
        Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{3, 17, 0, 39, 8, 8}}));
        // per layer: the q/k/v input, the o_proj input, the gate/up input (down_proj's 24 inputs are not a multiple
        // of 16, so it is skipped); plus lm_head's input: 7 activations. Weights: 6 per layer and lm_head: 13.
        assertEquals(7 + 13, computedDuring(() -> model.forward(ids, null)), "first forward");
        assertEquals(7, computedDuring(() -> model.forward(ids, null)), "same weight version: weights shared");
        model.namedParameters().values().forEach(p -> {
            try (var off = spindle.autograd.GradMode.disable()) {
                p.mutate(v -> v.muli(1.25));
            }
        });
        assertEquals(7 + 13, computedDuring(() -> model.forward(ids, null)), "weights changed: quantized again");
    }

    @Test
    void linearsReadingOneInputGiveTheLossAndGradientsOfSeparateQuantizations() {
        Tensor x = Tensor.of(FakeQuantTorchParityTest.random(1, DataType.DOUBLE, 2, 3, 32)).requiresGrad(true);
        List<Tensor> weights = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            weights.add(Tensor.of(FakeQuantTorchParityTest.random(10 + i, DataType.DOUBLE, 8, 32)).requiresGrad(true));
        }
        FakeQuantWeights fq = new FakeQuantWeights(S, 16);
        long before = SharedQuantization.COMPUTED.get();
        Tensor shared = loss(weights, w -> fq.linear(x, w, null));
        assertEquals(1 + 3, SharedQuantization.COMPUTED.get() - before, "one activation and three weights");
        Tensor separate = loss(weights, w -> Linalg.linear(FakeQuant.int8PerTokenOf(x).over(x),
            S.fakeQuantizeWeight(w, 16), null));
        assertBitwise(shared, separate, x, weights);
    }

    @Test
    void replicasShareTheWeightQuantizationAndKeepTheirOwnGradients() throws Exception {
        List<Tensor> weights = List.of(
            Tensor.of(FakeQuantTorchParityTest.random(20, DataType.DOUBLE, 8, 32)).requiresGrad(true),
            Tensor.of(FakeQuantTorchParityTest.random(21, DataType.DOUBLE, 8, 32)).requiresGrad(true));
        FakeQuantWeights fq = new FakeQuantWeights(S, 16);
        long before = SharedQuantization.COMPUTED.get();
        ExecutorService replicas = Executors.newFixedThreadPool(2);
        try {
            List<Future<List<INDArray>>> results = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                long seed = 30 + r;
                results.add(replicas.submit(() -> gradients(seed, weights, fq)));
            }
            List<List<INDArray>> shared = List.of(results.get(0).get(), results.get(1).get());
            assertEquals(2 + 2, SharedQuantization.COMPUTED.get() - before, "one activation per replica, 2 weights");
            for (int r = 0; r < 2; r++) {
                List<INDArray> alone = gradients(30 + r, weights, null);
                for (int i = 0; i < alone.size(); i++) {
                    assertArrayEquals(bits(alone.get(i)), bits(shared.get(r).get(i)), "replica " + r + ", grad " + i);
                }
            }
        } finally {
            replicas.shutdownNow();
        }
    }

    /** One replica's loss and gradients (the loss first, then x's and each weight's); fq null: quantized afresh. */
    private static List<INDArray> gradients(long seed, List<Tensor> weights, FakeQuantWeights fq) {
        Tensor x = Tensor.of(FakeQuantTorchParityTest.random(seed, DataType.DOUBLE, 4, 32)).requiresGrad(true);
        Tensor loss = loss(weights, w -> fq != null ? fq.linear(x, w, null)
            : Linalg.linear(FakeQuant.int8PerTokenOf(x).over(x), S.fakeQuantizeWeight(w, 16), null));
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        inputs.addAll(weights);
        List<INDArray> out = new ArrayList<>(List.of(loss.value().dup()));
        out.addAll(Autograd.grad(loss, inputs.toArray(Tensor[]::new)));
        return out;
    }

    /** sum over the linears of sum(y_i * y_i): every output's gradient differs, so summing them is exercised. */
    private static Tensor loss(List<Tensor> weights, java.util.function.Function<Tensor, Tensor> linear) {
        Tensor total = null;
        for (Tensor w : weights) {
            Tensor y = linear.apply(w);
            Tensor term = Reductions.sum(Elementwise.mul(y, y));
            total = total == null ? term : Elementwise.add(total, term);
        }
        return total;
    }

    private static void assertBitwise(Tensor shared, Tensor separate, Tensor x, List<Tensor> weights) {
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        inputs.addAll(weights);
        assertArrayEquals(bits(shared.value()), bits(separate.value()), "loss");
        List<INDArray> a = Autograd.grad(shared, inputs.toArray(Tensor[]::new));
        List<INDArray> b = Autograd.grad(separate, inputs.toArray(Tensor[]::new));
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(bits(b.get(i)), bits(a.get(i)), "gradient " + i);
        }
    }

    private static long[] bits(INDArray a) {
        double[] v = a.dup('c').data().asDouble();
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Double.doubleToLongBits(v[i]);
        }
        return out;
    }

    private static long computedDuring(Runnable forward) {
        long before = SharedQuantization.COMPUTED.get();
        forward.run();
        return SharedQuantization.COMPUTED.get() - before;
    }
}
