// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.data.Batch;
import spindle.layers.Init;
import spindle.optim.Sgd;
import spindle.optim.SgdOptions;
import spindle.trainers.DataParallel;

/**
 * With two data-parallel replicas each weight is fake-quantized once per step (shared by the replicas) and again
 * after the optimizer changed it, while each replica quantizes its own activations; the gradients are those of one
 * replica over the whole batch.
 */
class QatDataParallelTest {
    private static final QatScheme S = QatScheme.INT8_DYN_ACT_INT4_WEIGHT;

    private static List<QatLinear> model() {
        SplittableRandom rng = new SplittableRandom(7);
        return List.of(new QatLinear(16, 16, true, DataType.DOUBLE, Init.normal(0, 0.5, rng), S, 8),
            new QatLinear(16, 16, false, DataType.DOUBLE, Init.normal(0, 0.5, rng), S, 8));
    }

    private static Tensor loss(List<QatLinear> model, Batch b) {
        Tensor y = model.get(1).forward(model.get(0).forward(Tensor.of(b.inputs())));
        return Reductions.mean(Elementwise.mul(y, y));
    }

    private static List<Tensor> params(List<QatLinear> model) {
        return List.of(model.get(0).weight(), model.get(0).bias(), model.get(1).weight());
    }

    @Test
    void replicasShareEachWeightsQuantizationWithinAStep() {
        Batch batch = new Batch(Nd4j.rand(DataType.DOUBLE, 8, 16).subi(0.5), Nd4j.zeros(DataType.DOUBLE, 8));
        List<QatLinear> shared = model();
        List<QatLinear> alone = model();
        try (DataParallel two = new DataParallel(params(shared), 2);
             DataParallel one = new DataParallel(params(alone), 1)) {
            Sgd sgd = new Sgd(Map.of("w0", shared.get(0).weight(), "b0", shared.get(0).bias(),
                "w1", shared.get(1).weight()), SgdOptions.of(0.1));
            for (int step = 0; step < 2; step++) {
                long before = SharedQuantization.COMPUTED.get();
                two.backward(batch, b -> loss(shared, b));
                // 2 weights once for both replicas; each replica's 2 activations (its input and the hidden layer)
                assertEquals(2 + 2 * 2, SharedQuantization.COMPUTED.get() - before, "step " + step);
                one.backward(batch, b -> loss(alone, b));
                for (int i = 0; i < 3; i++) {
                    double diff = params(shared).get(i).grad().sub(params(alone).get(i).grad()).amaxNumber()
                        .doubleValue();
                    assertTrue(diff <= 1e-12, "step " + step + ", parameter " + i + " differs by " + diff);
                }
                sgd.step();
                sgd.zeroGrad();
                params(alone).forEach(p -> p.zeroGrad());
                try (var off = GradMode.disable()) {   // the single replica goes on from the shared model's weights
                    for (int i = 0; i < 3; i++) {
                        Tensor from = params(shared).get(i);
                        params(alone).get(i).mutate(w -> w.assign(from.value()));
                    }
                }
            }
        }
    }
}
