// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Reductions;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * The fake-quantized weight is computed once while no gradient flows to the weight and nothing changes it, and
 * afresh after a change: a QAT model's logits with the kept weights equal, bit for bit, those of a forward that
 * quantizes every weight again (grad mode on), before and after the weights change.
 */
class FakeQuantWeightsTest {
    @Test
    void aWeightWithoutGradientIsQuantizedOnceUntilItChanges() {
        FakeQuantWeights fq = new FakeQuantWeights(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 8);
        Tensor frozen = Tensor.of(FakeQuantTorchParityTest.random(3, DataType.FLOAT, 4, 16));   // a frozen base
        Tensor first = fq.of(frozen);
        assertSame(first, fq.of(frozen), "unchanged: the kept weight");
        frozen.mutate(w -> w.muli(1.5));
        Tensor changed = fq.of(frozen);
        assertNotSame(first, changed, "a mutate changes the version");
        assertArrayEquals(values(QatScheme.INT8_DYN_ACT_INT4_WEIGHT.fakeQuantizeWeight(frozen, 8)), values(changed));
    }

    @Test
    void aWeightThatTrainsIsQuantizedAtEveryForwardWhileGradModeIsOn() {
        FakeQuantWeights fq = new FakeQuantWeights(QatScheme.INT4_WEIGHT_ONLY, 8);
        Tensor weight = Tensor.of(FakeQuantTorchParityTest.random(4, DataType.FLOAT, 4, 16)).requiresGrad(true);
        Tensor a = fq.of(weight);
        assertNotSame(a, fq.of(weight));
        Reductions.sum(a).backward();
        assertNotNull(weight.grad(), "the gradient flows to the weight");
        try (var off = GradMode.disable()) {
            assertSame(fq.of(weight), fq.of(weight), "no grad: kept");
        }
    }

    @Test
    void keptWeightsGiveTheLogitsOfFreshlyQuantizedOnes() {
        for (boolean tied : new boolean[] {false, true}) {
            HfConfig config = QatConvertTest.llama(tied);
            CausalLm model = QatModels.fromHfConfig(config, DataType.FLOAT,
                new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 16)).model();
            model.loadStateDict(CausalLms.fromHfConfig(config, DataType.FLOAT, 5).stateDict(), true);
            Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{3, 17, 0, 39, 8, 8}}));
            float[] before = freshLogits(model, ids);
            for (int pass = 0; pass < 2; pass++) {   // the first pass fills the kept weights, the second reads them
                assertArrayEquals(before, keptLogits(model, ids), "tied " + tied + ", pass " + pass);
            }
            try (var off = GradMode.disable()) {
                model.namedParameters().values().forEach(p -> p.mutate(v -> v.muli(1.25)));
            }
            float[] after = freshLogits(model, ids);
            assertFalse(Arrays.equals(before, after), "the change shows in the logits");
            assertArrayEquals(after, keptLogits(model, ids), "tied " + tied + ", after the weights changed");
        }
    }

    /** Grad mode on with trainable weights: every weight is quantized afresh. */
    private static float[] freshLogits(CausalLm model, Tensor ids) {
        return values(model.forward(ids, null).logits());
    }

    private static float[] keptLogits(CausalLm model, Tensor ids) {
        try (var off = GradMode.disable()) {
            return values(model.forward(ids, null).logits());
        }
    }

    private static float[] values(Tensor t) {
        return t.value().dup('c').data().asFloat();
    }
}
