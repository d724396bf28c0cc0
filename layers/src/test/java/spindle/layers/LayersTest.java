// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.layers.RopeTest.expect;
import static spindle.layers.RopeTest.random;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;

/** Keys, modes, tables and argument errors of the basic layers (their gradients: LayersGradTest). */
class LayersTest {
    static final DataType F64 = DataType.DOUBLE;

    @Test
    void layerNormHasOnesAndZerosOrNoParameters() {
        LayerNorm ln = new LayerNorm(3, 1e-5, true, F64);
        assertEquals(List.of("weight", "bias"), List.copyOf(ln.stateDict().keySet()));
        assertArrayEquals(new double[] {1, 1, 1}, ln.weight().value().toDoubleVector());
        assertArrayEquals(new double[] {0, 0, 0}, ln.bias().value().toDoubleVector());
        assertTrue(new LayerNorm(3, 1e-5, false, F64).stateDict().isEmpty());
    }

    @Test
    void dropoutIsIdentityInEvalAndAtPZero() {
        Tensor x = Tensor.of(random(1, 4, 5));
        Dropout d = new Dropout(0.5, new SplittableRandom(1));
        d.eval();
        assertSame(x, d.forward(x));
        assertSame(x, new Dropout(0, new SplittableRandom(1)).forward(x));
    }

    @Test
    void dropoutZeroesAboutPAndScalesTheRestByOneOverOneMinusP() {
        INDArray x = Nd4j.ones(F64, 200, 100);
        Dropout d = new Dropout(0.25, new SplittableRandom(7));
        assertTrue(d.isTraining());
        double[] y = d.forward(Tensor.of(x)).value().reshape(x.length()).toDoubleVector();
        long zeros = 0;
        for (double v : y) {
            assertTrue(v == 0 || Math.abs(v - 1 / 0.75) < 1e-15, "kept values are scaled by 1/(1-p): " + v);
            zeros += v == 0 ? 1 : 0;
        }
        // 20000 Bernoulli(0.25) draws: standard deviation ~61
        assertEquals(5000, zeros, 300);
        double[] again = d.forward(Tensor.of(x)).value().reshape(x.length()).toDoubleVector();
        assertFalse(java.util.Arrays.equals(y, again), "each training call draws a new mask");
    }

    @Test
    void sinusoidalTableIsTheAttentionPaperFormulaAndNotInTheStateDict() {
        int dim = 6;
        SinusoidalPositions pe = new SinusoidalPositions(20, dim, F64);
        assertTrue(pe.stateDict().isEmpty());
        INDArray table = pe.namedBuffers().get("pe");
        assertArrayEquals(new long[] {20, dim}, table.shape());
        for (int p = 0; p < 20; p++) {
            for (int i = 0; i < dim / 2; i++) {
                double w = Math.exp(-Math.log(10000) * 2 * i / dim);   // 1 / 10000^(2i/d)
                assertEquals(Math.sin(p * w), table.getDouble(p, 2 * i), 1e-14);
                assertEquals(Math.cos(p * w), table.getDouble(p, 2 * i + 1), 1e-14);
            }
        }
        INDArray y = pe.forward(Tensor.of(Nd4j.zeros(F64, 2, 3, dim)), 4).value();
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                assertArrayEquals(table.getRow(4 + t).toDoubleVector(), y.slice(b).getRow(t).toDoubleVector(), 0);
            }
        }
    }

    @Test
    void learnedPositionsAddTheirRowsAndNameTheLimit() {
        LearnedPositions pos = new LearnedPositions(5, 2, F64, Init.uniform(1, new SplittableRandom(3)));
        assertEquals(List.of("weight"), List.copyOf(pos.stateDict().keySet()));
        INDArray x = random(2, 1, 2, 2);
        INDArray y = pos.forward(Tensor.of(x), 3).value();
        INDArray w = pos.weight().value();
        assertArrayEquals(x.slice(0).getRow(1).add(w.getRow(4)).toDoubleVector(), y.slice(0).getRow(1).toDoubleVector(), 1e-15);
        expect("positions 4..5 are outside 0..4; max_position_embeddings is 5", () -> pos.forward(Tensor.of(x), 4));
        expect("positions -1..0", () -> pos.forward(Tensor.of(x), -1));
        expect("it must be [B, T, 2]", () -> pos.forward(Tensor.of(Nd4j.zeros(F64, 1, 2, 3))));
        expect("x is FLOAT but the table is DOUBLE", () -> pos.forward(Tensor.of(Nd4j.zeros(DataType.FLOAT, 1, 2, 2))));
        SinusoidalPositions pe = new SinusoidalPositions(4, 2, F64);
        expect("max_position_embeddings is 4", () -> pe.forward(Tensor.of(Nd4j.zeros(F64, 1, 5, 2))));
    }

    @Test
    void mlpAndSwiGluHaveHuggingFaceChildren() {
        Mlp mlp = new Mlp(4, 8, MlpActivation.GELU, true, LinearFactory.plain(F64, Init.zeros()));
        assertEquals(List.of("up_proj.weight", "up_proj.bias", "down_proj.weight", "down_proj.bias"),
            List.copyOf(mlp.stateDict().keySet()));
        assertArrayEquals(new long[] {8, 4}, mlp.stateDict().get("up_proj.weight").shape());
        assertEquals(List.of("up_proj.weight", "down_proj.weight"),
            List.copyOf(new Mlp(4, 8, MlpActivation.RELU, false, LinearFactory.plain(F64, Init.zeros())).stateDict().keySet()));
        SwiGlu s = new SwiGlu(4, 8, LinearFactory.plain(F64, Init.zeros()));
        assertEquals(List.of("gate_proj.weight", "up_proj.weight", "down_proj.weight"), List.copyOf(s.stateDict().keySet()));
    }

    @Test
    void badArgumentsNameTheirKey() {
        LinearFactory f = LinearFactory.plain(F64, Init.zeros());
        expect("in_features must be positive but is 0", () -> new Linear(0, 3, true, F64, Init.zeros()));
        expect("out_features must be positive", () -> new Linear(3, -1, false, F64, Init.zeros()));
        expect("vocab_size must be positive", () -> new Embedding(0, 3, F64, Init.zeros()));
        expect("rms_norm_eps must be positive but is 0.0", () -> new RmsNorm(4, 0, F64));
        expect("hidden_size must be positive", () -> new RmsNorm(0, 1e-6, F64));
        expect("layer_norm_eps must be positive and finite but is -1.0", () -> new LayerNorm(4, -1, true, F64));
        expect("layer_norm_eps", () -> new LayerNorm(4, Double.NaN, true, F64));
        expect("hidden_size must be positive", () -> new LayerNorm(0, 1e-5, true, F64));
        expect("Dropout p must be in [0, 1) but is 1.0", () -> new Dropout(1, new SplittableRandom(0)));
        expect("Dropout p must be in [0, 1) but is -0.1", () -> new Dropout(-0.1, new SplittableRandom(0)));
        expect("rng must not be null", () -> new Dropout(0.1, null));
        expect("hidden_size must be even but is 5", () -> new SinusoidalPositions(8, 5, F64));
        expect("max_position_embeddings must be positive", () -> new SinusoidalPositions(0, 4, F64));
        expect("max_position_embeddings must be positive", () -> new LearnedPositions(0, 4, F64, Init.zeros()));
        expect("intermediate_size must be positive", () -> new Mlp(4, 0, MlpActivation.RELU, true, f));
        expect("hidden_size must be positive", () -> new Mlp(0, 4, MlpActivation.RELU, true, f));
        expect("hidden_act", () -> new Mlp(4, 4, null, true, f));
        expect("intermediate_size must be positive", () -> new SwiGlu(4, 0, f));
        expect("rmsNorm: weight has shape [4] but x has shape [2, 3]", () -> new RmsNorm(4, 1e-6, F64).forward(Tensor.of(Nd4j.zeros(F64, 2, 3))));
        expect("layerNorm: weight has shape [4] but x has shape [2, 3]", () -> new LayerNorm(4, 1e-6, true, F64).forward(Tensor.of(Nd4j.zeros(F64, 2, 3))));
    }
}
