// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.AnomalyMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Reductions;
import spindle.data.DataLoader;
import spindle.data.LoaderOptions;
import spindle.layers.Module;
import spindle.optim.LrSchedule;
import spindle.optim.Sgd;
import spindle.optim.SgdOptions;

class TrainerTest {

    /** Records every step's metrics. */
    static final class Recorder implements Callback {
        final List<StepMetrics> steps = new ArrayList<>();

        @Override
        public void onStep(StepMetrics metrics, Trainer trainer) {
            steps.add(metrics);
        }
    }

    /** SGD without momentum on the tiny MLP, sequential data, no dropout: a deterministic step to compare. */
    private static Trainer sgdTrainer(TinyRun.Mlp model, int accumulation, double maxGradNorm, long steps) {
        return sgdTrainer(model, accumulation, maxGradNorm, steps, 1);
    }

    private static Trainer sgdTrainer(TinyRun.Mlp model, int accumulation, double maxGradNorm, long steps, int replicas) {
        Objective ce = b -> StepLoss.of(Losses.crossEntropy(
            model.fc2.forward(spindle.autograd.ops.Activations.tanh(model.fc1.forward(Tensor.of(b.inputs())))),
            Tensor.of(b.targets())));
        var sgd = new Sgd(model.namedParameters(), SgdOptions.of(0.1));
        return new Trainer(model, sgd, LrSchedule.constant(), ce, TrainerOptions.defaults().withMaxSteps(steps)
            .withGradAccumulation(accumulation).withMaxGradNorm(maxGradNorm).withReplicas(replicas));
    }

    @Test
    void accumulatingTwoHalfBatchesEqualsOneFullBatch() throws IOException {
        var whole = new TinyRun.Mlp(16, new SplittableRandom(3));
        var halves = new TinyRun.Mlp(16, new SplittableRandom(3));
        sgdTrainer(whole, 1, 0, 3).fit(new DataLoader(TinyRun.teacherData(96, 1), LoaderOptions.of(16)));
        sgdTrainer(halves, 2, 0, 3).fit(new DataLoader(TinyRun.teacherData(96, 1), LoaderOptions.of(8)));
        assertSameParameters(whole, halves);
    }

    /** Every parameter of the two models equal within 1e-6, element by element. */
    private static void assertSameParameters(Module expected, Module actual) {
        Map<String, Tensor> a = expected.namedParameters();
        Map<String, Tensor> b = actual.namedParameters();
        for (String k : a.keySet()) {
            float[] x = a.get(k).value().dup().reshape(-1).toFloatVector();
            float[] y = b.get(k).value().dup().reshape(-1).toFloatVector();
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i], y[i], 1e-6, k + "[" + i + "]");
            }
        }
    }

    @Test
    void twoReplicasTrainAsOneThread() throws IOException {
        var single = new TinyRun.Mlp(16, new SplittableRandom(3));
        var replicated = new TinyRun.Mlp(16, new SplittableRandom(3));
        Recorder r1 = new Recorder();
        Recorder r2 = new Recorder();
        sgdTrainer(single, 2, 1.0, 3, 1).addCallback(r1).fit(new DataLoader(TinyRun.teacherData(96, 1), LoaderOptions.of(16)));
        sgdTrainer(replicated, 2, 1.0, 3, 2).addCallback(r2).fit(new DataLoader(TinyRun.teacherData(96, 1), LoaderOptions.of(16)));
        for (int s = 0; s < 3; s++) {
            assertEquals(r1.steps.get(s).loss(), r2.steps.get(s).loss(), 1e-6, "loss at step " + (s + 1));
            assertEquals(r1.steps.get(s).gradNorm(), r2.steps.get(s).gradNorm(), 1e-6, "norm at step " + (s + 1));
        }
        assertSameParameters(single, replicated);
    }

    @Test
    void aNanLossOnAReplicaStopsWithTheStepAndAddsNothing() {
        var model = new TinyRun.Mlp(8, new SplittableRandom(5));
        AtomicInteger calls = new AtomicInteger();
        Objective poisoned = b -> {
            Tensor loss = Reductions.mean(model.fc1.forward(Tensor.of(b.inputs())));
            // the second replica to start gets log(-1) = NaN; the other one's loss is fine
            return StepLoss.of(calls.incrementAndGet() == 2
                ? Elementwise.log(Elementwise.addScalar(Elementwise.mulScalar(loss, 0), -1)) : loss);
        };
        DataLoader data = new DataLoader(TinyRun.teacherData(8, 1), LoaderOptions.of(8));
        var t = new Trainer(model, new Sgd(model.namedParameters(), SgdOptions.of(0.1)), LrSchedule.constant(), poisoned,
            TrainerOptions.defaults().withMaxSteps(3).withReplicas(2));
        float[] before = model.fc1.weight().value().dup().reshape(-1).toFloatVector();
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.fit(data));
        assertTrue(e.getMessage().startsWith("step 1: loss is NaN"), e.getMessage());
        assertArrayEquals(before, model.fc1.weight().value().dup().reshape(-1).toFloatVector(), "no update");
        model.namedParameters().values().forEach(p -> assertEquals(null, p.grad(), "no gradient was added"));
    }

    @Test
    void reportsThePreClipNormAndClipsTheUpdate() throws IOException {
        var clipped = new TinyRun.Mlp(16, new SplittableRandom(4));
        var free = new TinyRun.Mlp(16, new SplittableRandom(4));
        float[] before = clipped.fc1.weight().value().dup().reshape(-1).toFloatVector();
        Recorder rc = new Recorder();
        Recorder rf = new Recorder();
        sgdTrainer(clipped, 1, 1e-3, 1).addCallback(rc).fit(new DataLoader(TinyRun.teacherData(32, 2), LoaderOptions.of(32)));
        sgdTrainer(free, 1, 0, 1).addCallback(rf).fit(new DataLoader(TinyRun.teacherData(32, 2), LoaderOptions.of(32)));
        double norm = rf.steps.get(0).gradNorm();
        assertTrue(norm > 1e-2, "the unclipped norm " + norm + " should be well above the clip of 1e-3");
        assertEquals(norm, rc.steps.get(0).gradNorm(), 1e-9, "the clipped run reports the norm before clipping");
        // SGD moved the clipped weights by lr * grad * (1e-3 / norm): the same direction, norm/1e-3 times shorter.
        float[] c = clipped.fc1.weight().value().dup().reshape(-1).toFloatVector();
        float[] f = free.fc1.weight().value().dup().reshape(-1).toFloatVector();
        double scale = 1e-3 / (norm + 1e-6);
        for (int i = 0; i < c.length; i++) {
            assertEquals((f[i] - before[i]) * scale, c[i] - before[i], 1e-6, "fc1.weight[" + i + "]");
        }
    }

    @Test
    void lrFollowsTheScheduleFromStepZero() throws IOException {
        TinyRun run = new TinyRun(12, null, 0, 0);
        Recorder r = new Recorder();
        run.trainer.addCallback(r);
        run.trainer.fit(run.train);
        LrSchedule s = LrSchedule.warmupCosine(5, 40, 0.1);
        for (StepMetrics m : r.steps) {
            assertEquals(2e-2 * s.factor(m.step() - 1), m.lr(), 1e-15, "lr at step " + m.step());
        }
        assertEquals(0.0, r.steps.get(0).lr());
    }

    @Test
    void stopsAtMaxEpochsAndOnRequest() throws IOException {
        // 200 examples in batches of 16: 13 per epoch; 2 micro-batches per step reach epoch 1 during step 7.
        TinyRun limited = new TinyRun(TinyRun.options(1000).withMaxEpochs(1), null, 0, 0);
        assertEquals(7, limited.trainer.fit(limited.train).lastStep());
        assertEquals(1, limited.train.epoch());

        TinyRun stopped = new TinyRun(1000, null, 0, 0);
        stopped.trainer.addCallback(new Callback() {
            @Override
            public void onStep(StepMetrics m, Trainer trainer) {
                if (m.step() == 4) {
                    trainer.requestStop();
                }
            }
        });
        assertEquals(4, stopped.trainer.fit(stopped.train).lastStep());
    }

    @Test
    void nanLossStopsWithTheStepBeforeTheUpdate() throws IOException {
        var model = new TinyRun.Mlp(8, new SplittableRandom(5));
        List<Long> seen = new ArrayList<>();
        Objective poisoned = b -> {
            Tensor loss = Reductions.mean(model.fc1.forward(Tensor.of(b.inputs())));
            seen.add((long) seen.size());
            // log(0 * loss - 1) = NaN (ND4J's scalar multiply by NaN does not give NaN, so it cannot poison the loss)
            return StepLoss.of(seen.size() == 3 ? Elementwise.log(Elementwise.addScalar(Elementwise.mulScalar(loss, 0), -1))
                : loss);
        };
        var t = new Trainer(model, new Sgd(model.namedParameters(), SgdOptions.of(0.1)),
            LrSchedule.constant(), poisoned, TrainerOptions.defaults().withMaxSteps(10));
        DataLoader data = new DataLoader(TinyRun.teacherData(64, 1), LoaderOptions.of(8));
        float[][] afterStep2 = new float[1][];
        t.addCallback(new Callback() {
            @Override
            public void onStep(StepMetrics m, Trainer trainer) {
                afterStep2[0] = model.fc1.weight().value().dup().reshape(-1).toFloatVector();
            }
        });
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.fit(data));
        assertEquals(3, e.step());
        assertEquals("loss", e.quantity());
        assertTrue(e.getMessage().startsWith("step 3: loss is NaN"), e.getMessage());
        assertArrayEquals(afterStep2[0], model.fc1.weight().value().dup().reshape(-1).toFloatVector(), "no update at step 3");
    }

    /** A model with one parameter at 0 whose loss is sqrt(p): finite value 0, infinite gradient. */
    static final class SqrtAtZero extends Module {
        final Tensor p = param("p", Nd4j.zeros(DataType.FLOAT, 1));
    }

    @Test
    void infiniteGradientNormNamesTheStepAndTheDetectorsOp() {
        var model = new SqrtAtZero();
        var t = new Trainer(model, new Sgd(model.namedParameters(), SgdOptions.of(0.1)), LrSchedule.constant(),
            b -> StepLoss.of(Reductions.sum(Elementwise.sqrt(model.p))), TrainerOptions.defaults().withMaxSteps(5));
        t.setAnomalyDetector(() -> java.util.Optional.of("sqrt"));
        DataLoader data = new DataLoader(TinyRun.teacherData(8, 1), LoaderOptions.of(8));
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.fit(data));
        assertEquals(1, e.step());
        assertEquals("gradient norm", e.quantity());
        assertEquals("sqrt", e.op().orElseThrow());
        assertNotEquals(-1, e.getMessage().indexOf("first produced by op 'sqrt'"), e.getMessage());
        assertEquals(0f, model.p.value().getFloat(0), "the parameter keeps its value");
    }

    @Test
    void anomalyModeNamesTheOpThatFirstMadeANaN() {
        var model = new SqrtAtZero();
        // mean(log(p - 1)): log of -1 is the first NaN of the forward
        var t = new Trainer(model, new Sgd(model.namedParameters(), SgdOptions.of(0.1)), LrSchedule.constant(),
            b -> StepLoss.of(Reductions.mean(Elementwise.log(Elementwise.addScalar(model.p, -1)))),
            TrainerOptions.defaults().withMaxSteps(5)).setAnomalyDetector(AnomalyDetector.tape());
        DataLoader data = new DataLoader(TinyRun.teacherData(8, 1), LoaderOptions.of(8));
        NonFiniteException e;
        try (var on = AnomalyMode.enable()) {
            e = assertThrows(NonFiniteException.class, () -> t.fit(data));
        }
        assertEquals("log", e.op().orElseThrow(), e.getMessage());
        var sqrt = new SqrtAtZero();
        var t2 = new Trainer(sqrt, new Sgd(sqrt.namedParameters(), SgdOptions.of(0.1)), LrSchedule.constant(),
            b -> StepLoss.of(Reductions.sum(Elementwise.sqrt(sqrt.p))), TrainerOptions.defaults().withMaxSteps(5))
            .setAnomalyDetector(AnomalyDetector.tape());
        try (var on = AnomalyMode.enable()) {
            e = assertThrows(NonFiniteException.class, () -> t2.fit(data));
        }
        assertEquals("sqrt (backward)", e.op().orElseThrow(), "the infinite gradient comes from sqrt's backward at 0");
        assertTrue(AnomalyMode.firstNonFinite().isPresent() && !AnomalyMode.isEnabled(), "the scope restored the mode");
    }

    @Test
    void optionsRejectBadValuesNamingTheKey() {
        var e = assertThrows(IllegalArgumentException.class, () -> TrainerOptions.defaults().withGradAccumulation(0));
        assertTrue(e.getMessage().startsWith("gradient_accumulation_steps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainerOptions.defaults().withMaxGradNorm(-1));
        assertTrue(e.getMessage().startsWith("max_grad_norm"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Checkpointer(java.nio.file.Path.of("x"), -1, 0));
        assertTrue(e.getMessage().startsWith("checkpoint.every"), e.getMessage());
    }
}
