// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Named.named;
import static spindle.autograd.GradCase.shape;
import static spindle.layers.LayerFunctions.ofInputAndParams;
import static spindle.layers.LayerFunctions.ofParams;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;

/**
 * Float64 gradient checks of the forward of every basic layer, with respect to its input and to each of its
 * parameters (loaded from the GradCase inputs, see {@link LayerFunctions}).
 */
class LayersGradTest {
    static final DataType F64 = DataType.DOUBLE;

    static Stream<Named<GradCase>> cases() {
        Linear withBias = new Linear(4, 5, true, F64, Init.zeros());
        Linear noBias = new Linear(4, 5, false, F64, Init.zeros());
        Embedding emb = new Embedding(6, 4, F64, Init.zeros());
        Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{0, 3, 3}, {5, 0, 1}}));   // repeats accumulate
        RmsNorm rms = new RmsNorm(8, 1e-6, F64);
        LayerNorm ln = new LayerNorm(6, 1e-5, true, F64);
        LayerNorm lnPlain = new LayerNorm(6, 1e-5, false, F64);
        SwiGlu swiglu = new SwiGlu(4, 6, LinearFactory.plain(F64, Init.zeros()));
        SinusoidalPositions sin = new SinusoidalPositions(8, 4, F64);
        LearnedPositions learned = new LearnedPositions(5, 4, F64, Init.zeros());
        return Stream.of(
            named("Linear with bias: x, weight, bias", GradCase.of(ofInputAndParams(withBias, withBias::forward,
                "weight", "bias"), shape(2, 3, 4), shape(5, 4), shape(5))),
            named("Linear without bias: x, weight", GradCase.of(ofInputAndParams(noBias, noBias::forward, "weight"),
                shape(3, 4), shape(5, 4))),
            named("Embedding: weight, ids with repeats", GradCase.of(ofParams(emb, () -> emb.forward(ids), "weight"),
                shape(6, 4))),
            named("RmsNorm: x, weight", GradCase.of(ofInputAndParams(rms, rms::forward, "weight"),
                shape(2, 3, 8), shape(8))),
            named("LayerNorm: x, weight, bias", GradCase.of(ofInputAndParams(ln, ln::forward, "weight", "bias"),
                shape(2, 3, 6), shape(6), shape(6))),
            named("LayerNorm without affine: x", GradCase.of(ofInputAndParams(lnPlain, lnPlain::forward), shape(4, 6))),
            named("Dropout p 0.3 in training, the same seed on every call",
                GradCase.of(in -> new Dropout(0.3, new SplittableRandom(5)).forward(in[0]), shape(4, 6))),
            named("SwiGlu: x, gate/up/down weights", GradCase.of(ofInputAndParams(swiglu, swiglu::forward,
                "gate_proj.weight", "up_proj.weight", "down_proj.weight"), shape(2, 3, 4), shape(6, 4), shape(6, 4),
                shape(4, 6)).withRange(0, -2, 2)),
            mlp(MlpActivation.RELU),
            mlp(MlpActivation.GELU),
            mlp(MlpActivation.GELU_TANH),
            named("SinusoidalPositions from position 3: x", GradCase.of(in -> sin.forward(in[0], 3), shape(2, 5, 4))),
            named("LearnedPositions from position 1: x, weight", GradCase.of(ofInputAndParams(learned,
                x -> learned.forward(x, 1), "weight"), shape(2, 3, 4), shape(5, 4))));
    }

    static Named<GradCase> mlp(MlpActivation act) {
        Mlp mlp = new Mlp(4, 7, act, true, LinearFactory.plain(F64, Init.zeros()));
        return named("Mlp " + act + " with bias: x, up/down weights and biases", GradCase.of(ofInputAndParams(mlp,
            mlp::forward, "up_proj.weight", "up_proj.bias", "down_proj.weight", "down_proj.bias"),
            shape(2, 3, 4), shape(7, 4), shape(7), shape(4, 7), shape(4)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesCentralDifferences(GradCase c) {
        c.assertMatches(new SplittableRandom(53));
    }
}
