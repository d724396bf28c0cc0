// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Losses;
import spindle.data.Batch;
import spindle.data.DataLoader;
import spindle.data.Dataset;
import spindle.data.LoaderOptions;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.Module;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.optim.ParamGroups;

/**
 * A small, fully seeded training run shared by the resume tests and the child JVM: a 2-layer MLP with
 * dropout (drawn from the trainer's {@link TrainingRandom}) classifying points by a fixed teacher rule,
 * a shuffled loader, AdamW with decay on matrices only, warmup + cosine, accumulation over 2 micro-batches.
 * Every piece of state that a resume must restore influences the losses.
 */
final class TinyRun {
    static final int FEATURES = 8;
    static final int CLASSES = 4;
    static final double LR = 2e-2;
    static final LrSchedule SCHEDULE = LrSchedule.warmupCosine(5, 40, 0.1);

    /** fc1 -> tanh -> dropout -> fc2; names as a Hugging Face MLP would have them. */
    static final class Mlp extends Module {
        final Linear fc1;
        final Linear fc2;

        Mlp(int hidden, SplittableRandom rng) {
            fc1 = child("fc1", new Linear(FEATURES, hidden, true, DataType.FLOAT, Init.linearDefault(FEATURES, rng)));
            fc2 = child("fc2", new Linear(hidden, CLASSES, true, DataType.FLOAT, Init.linearDefault(hidden, rng)));
        }
    }

    /** n points in [-1, 1]^F labelled by argmax of a fixed random linear map. */
    static Dataset teacherData(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] x = new float[n][FEATURES];
        long[] y = new long[n];
        double[][] w = new double[FEATURES][CLASSES];
        for (double[] row : w) {
            for (int c = 0; c < CLASSES; c++) {
                row[c] = rng.nextDouble(-1, 1);
            }
        }
        for (int i = 0; i < n; i++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int f = 0; f < FEATURES; f++) {
                x[i][f] = (float) rng.nextDouble(-1, 1);
            }
            for (int c = 0; c < CLASSES; c++) {
                double s = 0;
                for (int f = 0; f < FEATURES; f++) {
                    s += x[i][f] * w[f][c];
                }
                if (s > best) {
                    best = s;
                    y[i] = c;
                }
            }
        }
        return new Dataset() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public Batch batch(int[] indices) {
                float[][] xs = new float[indices.length][];
                long[] ys = new long[indices.length];
                for (int i = 0; i < indices.length; i++) {
                    xs[i] = x[indices[i]];
                    ys[i] = y[indices[i]];
                }
                INDArray inputs = Nd4j.createFromArray(xs);
                return new Batch(inputs, Nd4j.createFromArray(ys));
            }
        };
    }

    final Mlp model = new Mlp(32, new SplittableRandom(1));
    final TrainingRandom random = new TrainingRandom(99);
    final DataLoader train = new DataLoader(teacherData(200, 5), LoaderOptions.of(16).shuffled(7));
    final DataLoader eval = new DataLoader(teacherData(64, 6), LoaderOptions.of(32));
    final Trainer trainer;

    /** The run's options: accumulation 2, clipping at 0.5, evaluation of 2 batches every 10 steps. */
    static TrainerOptions options(long maxSteps) {
        return TrainerOptions.defaults().withMaxSteps(maxSteps).withGradAccumulation(2).withMaxGradNorm(0.5)
            .withEval(10, 2);
    }

    TinyRun(long maxSteps, Path checkpoints, long every, int keepLast) {
        this(options(maxSteps), checkpoints, every, keepLast);
    }

    TinyRun(TrainerOptions options, Path checkpoints, long every, int keepLast) {
        this(options, checkpoints, every, keepLast, LR);
    }

    /** A run whose AdamW has peak learning rate {@code lr} (the others use {@link #LR}). */
    TinyRun(TrainerOptions options, Path checkpoints, long every, int keepLast, double lr) {
        var optimizer = new Adam(ParamGroups.decayMatricesOnly(model.namedParameters(), 0.1),
            AdamOptions.adamW().withLr(lr));
        Objective objective = batch -> {
            Tensor h = Activations.tanh(model.fc1.forward(Tensor.of(batch.inputs())));
            h = Activations.dropout(h, 0.1, model.isTraining(), model.isTraining() ? random.nextSeed() : 0);
            Tensor logits = model.fc2.forward(h);
            return StepLoss.of(Losses.crossEntropy(logits, Tensor.of(batch.targets())));
        };
        trainer = new Trainer(model, optimizer, SCHEDULE, objective, options)
            .setRandom(random);
        if (checkpoints != null) {
            trainer.setCheckpointer(new Checkpointer(checkpoints, every, keepLast));
        }
    }

    FitResult fit() throws java.io.IOException {
        return trainer.fit(train, eval);
    }
}
