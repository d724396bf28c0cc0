// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Losses;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.ParamGroups;

/**
 * The trainer keeps each parameter's gradient array from step to step ({@link Tensor#zeroGradKeepingMemory}):
 * the run must be bitwise the run whose arrays are freed after every step, over gradient accumulation,
 * and clipping, on one replica (backward writes into the kept array) and on two (their sum is copied in).
 */
class GradReuseTest {
    private static final int STEPS = 4;

    /** Per step: the loss, every parameter's gradient; and fc1.weight's gradient array of each step. */
    private record Run(List<Double> losses, List<float[]> grads, List<INDArray> fc1Arrays, float[] finalWeights) {}

    private static Run train(int replicas, boolean freeAfterEachStep) throws Exception {
        var options = TrainerOptions.defaults().withMaxSteps(STEPS).withGradAccumulation(2).withMaxGradNorm(0.5)
            .withReplicas(replicas);
        TinyRun run = new TinyRun(options, null, 0, 0);   // its model and data; no dropout: replicas draw seeds racily
        var optimizer = new Adam(ParamGroups.decayMatricesOnly(run.model.namedParameters(), 0.1),
            AdamOptions.adamW().withLr(TinyRun.LR));
        Objective objective = batch -> StepLoss.of(Losses.crossEntropy(run.model.fc2.forward(Activations.tanh(
            run.model.fc1.forward(Tensor.of(batch.inputs())))), Tensor.of(batch.targets())));
        Trainer trainer = new Trainer(run.model, optimizer, TinyRun.SCHEDULE, objective, options);
        List<Tensor> params = new ArrayList<>(run.model.namedParameters().values());
        Run out = new Run(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), null);
        trainer.addCallback(new Callback() {
            @Override
            public void onStep(StepMetrics m, Trainer trainer) {
                out.losses().add(m.loss());
                for (Tensor p : params) {
                    out.grads().add(p.grad().dup().data().asFloat());
                }
                out.fc1Arrays().add(run.model.fc1.weight().grad());
                if (freeAfterEachStep) {
                    params.forEach(Tensor::zeroGrad);
                }
            }
        });
        trainer.fit(run.train);
        float[] weights = run.model.fc1.weight().value().dup().data().asFloat();
        return new Run(out.losses(), out.grads(), out.fc1Arrays(), weights);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void keptGradientArraysGiveTheFreshArraysRunBitwise(int replicas) throws Exception {
        Run kept = train(replicas, false);
        Run fresh = train(replicas, true);
        assertEquals(STEPS, kept.losses().size());
        for (int s = 0; s < STEPS; s++) {
            assertEquals(Double.doubleToLongBits(fresh.losses().get(s)), Double.doubleToLongBits(kept.losses().get(s)),
                "loss of step " + (s + 1));
        }
        for (int i = 0; i < fresh.grads().size(); i++) {
            assertArrayEquals(fresh.grads().get(i), kept.grads().get(i), "gradient " + i + " (step-major)");
        }
        assertArrayEquals(fresh.finalWeights(), kept.finalWeights(), "fc1.weight after the steps");
        for (int s = 1; s < STEPS; s++) {   // the comparison above did exercise the reuse, and its absence
            assertSame(kept.fc1Arrays().get(0), kept.fc1Arrays().get(s), "kept run, step " + (s + 1));
            assertNotSame(fresh.fc1Arrays().get(s - 1), fresh.fc1Arrays().get(s), "fresh run, step " + (s + 1));
        }
    }
}
