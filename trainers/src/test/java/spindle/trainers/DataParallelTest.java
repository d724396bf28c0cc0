// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Losses;
import spindle.data.Batch;
import spindle.layers.Init;
import spindle.layers.Linear;

class DataParallelTest {
    private static final int FEATURES = 5;
    private static final int CLASSES = 3;

    /** A float64 two-layer classifier whose loss is the mean over the rows it gets. */
    private static final class Classifier {
        final Linear fc1;
        final Linear fc2;

        Classifier(long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            fc1 = new Linear(FEATURES, 7, true, DataType.DOUBLE, Init.linearDefault(FEATURES, rng));
            fc2 = new Linear(7, CLASSES, true, DataType.DOUBLE, Init.linearDefault(7, rng));
        }

        List<Tensor> parameters() {
            return new ArrayList<>(List.of(fc1.weight(), fc1.bias(), fc2.weight(), fc2.bias()));
        }

        Tensor loss(INDArray inputs, INDArray targets) {
            return Losses.crossEntropy(fc2.forward(Activations.tanh(fc1.forward(Tensor.of(inputs)))), Tensor.of(targets));
        }
    }

    private static Batch batch(int rows, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] x = new double[rows][FEATURES];
        long[] y = new long[rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < FEATURES; j++) {
                x[i][j] = rng.nextGaussian();
            }
            y[i] = rng.nextInt(CLASSES);
        }
        return new Batch(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }

    /** The gradients and loss of one backward over the whole batch, the reference for the replicas. */
    private static double wholeBatch(Classifier model, Batch batch) {
        Tensor loss = model.loss(batch.inputs(), batch.targets());
        double value = loss.item();
        loss.backward();
        return value;
    }

    private static void assertSameGradients(Classifier expected, Classifier actual, double tolerance) {
        List<Tensor> e = expected.parameters();
        List<Tensor> a = actual.parameters();
        for (int i = 0; i < e.size(); i++) {
            double diff = maxAbsDiff(e.get(i).grad(), a.get(i).grad());
            assertTrue(diff <= tolerance, "parameter " + i + " differs by " + diff);
            assertTrue(e.get(i).grad().amaxNumber().doubleValue() > 1e-3, "a gradient that could not differ");
        }
    }

    @Test
    void replicasGiveTheWholeBatchGradient() {
        for (int rows : new int[] {8, 7}) {   // 7 rows: slices of 3 and 4, weighted 3/7 and 4/7
            Batch data = batch(rows, 11);
            Classifier whole = new Classifier(5);
            Classifier split = new Classifier(5);
            double expected = wholeBatch(whole, data);
            double loss;
            try (DataParallel dp = new DataParallel(split.parameters(), 2)) {
                loss = dp.backward(data, part -> split.loss(part.inputs(), part.targets()));
            }
            assertEquals(expected, loss, 1e-12, "rows " + rows);
            assertSameGradients(whole, split, 1e-12);
        }
    }

    @Test
    void gradientsAccumulateOverCallsUntilZeroed() {
        Batch first = batch(6, 1);
        Batch second = batch(6, 2);
        Classifier whole = new Classifier(9);
        Classifier split = new Classifier(9);
        wholeBatch(whole, first);
        wholeBatch(whole, second);
        try (DataParallel dp = new DataParallel(split.parameters(), 3)) {
            dp.backward(first, part -> split.loss(part.inputs(), part.targets()));
            dp.backward(second, part -> split.loss(part.inputs(), part.targets()));   // the buffers are cleared, .grad is not
        }
        assertSameGradients(whole, split, 1e-12);
    }

    @Test
    void oneReplicaIsThePlainBackwardOnTheCallingThread() {
        Batch data = batch(6, 4);
        Classifier whole = new Classifier(3);
        Classifier single = new Classifier(3);
        double expected = wholeBatch(whole, data);
        List<Thread> ran = new ArrayList<>();
        double loss;
        try (DataParallel dp = new DataParallel(single.parameters(), 1)) {
            loss = dp.backward(data, part -> {
                ran.add(Thread.currentThread());
                assertTrue(part == data, "one replica takes the batch itself, not a copy");
                return single.loss(part.inputs(), part.targets());
            });
        }
        assertEquals(List.of(Thread.currentThread()), ran);
        assertEquals(expected, loss);
        assertSameGradients(whole, single, 0.0);   // bit for bit
    }

    @Test
    void gradScaleScalesTheGradientsButNotTheLoss() {
        Batch data = batch(6, 8);
        for (int replicas : new int[] {1, 2}) {
            Classifier whole = new Classifier(1);
            Classifier scaled = new Classifier(1);
            double expected = wholeBatch(whole, data);
            whole.parameters().forEach(p -> p.grad().muli(0.25));
            double loss;
            try (DataParallel dp = new DataParallel(scaled.parameters(), replicas)) {
                loss = dp.backward(data, 0.25, part -> scaled.loss(part.inputs(), part.targets()));
            }
            assertEquals(expected, loss, 1e-12, replicas + " replicas");
            assertSameGradients(whole, scaled, 1e-12);
        }
    }

    @Test
    void aBatchOfFewerRowsThanReplicasLeavesTheRestIdle() {
        Batch data = batch(3, 2);
        Classifier whole = new Classifier(8);
        Classifier split = new Classifier(8);
        double expected = wholeBatch(whole, data);
        double loss;
        try (DataParallel dp = new DataParallel(split.parameters(), 4)) {
            loss = dp.backward(data, part -> {
                assertEquals(1, part.size(), "each busy replica takes one row");
                return split.loss(part.inputs(), part.targets());
            });
        }
        assertEquals(expected, loss, 1e-12);
        assertSameGradients(whole, split, 1e-12);
    }

    @Test
    void eachReplicaRunsOnItsOwnThreadWithItsShareOfTheThreads() {
        int before = Nd4j.factory().blas().getMaxThreads();
        Classifier model = new Classifier(2);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        List<Integer> opThreads = new ArrayList<>();
        try (DataParallel dp = new DataParallel(model.parameters(), 2)) {
            dp.backward(batch(4, 3), part -> {
                threads.add(Thread.currentThread().getName() + "@" + Thread.currentThread().getId());
                synchronized (opThreads) {
                    opThreads.add(NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads());
                }
                return model.loss(part.inputs(), part.targets());
            });
        }
        assertEquals(2, threads.size(), "replica threads " + threads);
        int share = Math.max(1, Nd4j.getEnvironment().maxThreads() / 2);
        assertEquals(List.of(share, share), opThreads, "OpenMP threads of each replica thread");
        assertEquals(before, Nd4j.factory().blas().getMaxThreads(), "close() restores the BLAS thread count");
    }

    @Test
    void aFailingReplicaAddsNoGradientAndItsErrorSurfaces() {
        Classifier model = new Classifier(4);
        try (DataParallel dp = new DataParallel(model.parameters(), 2)) {
            Batch data = batch(4, 3);
            double secondSliceStart = data.inputs().getDouble(2, 0);
            var e = assertThrows(IllegalStateException.class, () -> dp.backward(data, part -> {
                Tensor loss = model.loss(part.inputs(), part.targets());
                if (part.inputs().getDouble(0, 0) == secondSliceStart) {
                    throw new IllegalStateException("replica 1 broke");
                }
                return loss;
            }));
            assertEquals("replica 1 broke", e.getMessage());
        }
        model.parameters().forEach(p -> assertNull(p.grad(), "no gradient after a failed step"));
    }

    @Test
    void aParameterNoReplicaReachesKeepsANullGradient() {
        Classifier model = new Classifier(6);
        Tensor unused = Tensor.of(Nd4j.ones(DataType.DOUBLE, 3)).requiresGrad(true);
        List<Tensor> params = model.parameters();
        params.add(unused);
        try (DataParallel dp = new DataParallel(params, 2)) {
            dp.backward(batch(4, 1), part -> model.loss(part.inputs(), part.targets()));
        }
        assertNull(unused.grad(), "as after a plain backward, which would not reach it either");
        assertTrue(model.fc1.weight().grad() != null);
    }

    @Test
    void badInputIsNamed() {
        Classifier model = new Classifier(4);
        var ragged = assertThrows(IllegalArgumentException.class, () -> {
            try (DataParallel dp = new DataParallel(model.parameters(), 2)) {
                dp.backward(new Batch(batch(4, 1).inputs(), batch(5, 1).targets()),
                    part -> model.loss(part.inputs(), part.targets()));
            }
        });
        assertTrue(ragged.getMessage().contains("inputs are [4, 5] and targets [5]"), ragged.getMessage());
        var notScalar = assertThrows(IllegalArgumentException.class, () -> {
            try (DataParallel dp = new DataParallel(model.parameters(), 2)) {
                dp.backward(batch(4, 1), part -> model.fc1.forward(Tensor.of(part.inputs())));
            }
        });
        assertTrue(notScalar.getMessage().contains("one-element tensor but has shape [2, 7]"), notScalar.getMessage());
        List<Tensor> mixed = List.of(model.fc1.weight(), Tensor.of(Nd4j.zeros(DataType.FLOAT, 2)).requiresGrad(true));
        var dtypes = assertThrows(IllegalArgumentException.class, () -> new DataParallel(mixed, 2));
        assertTrue(dtypes.getMessage().contains("DOUBLE and FLOAT"), dtypes.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DataParallel(model.parameters(), 0));
        List<Tensor> twice = List.of(model.fc1.weight(), model.fc1.weight());
        var duplicate = assertThrows(IllegalArgumentException.class, () -> new DataParallel(twice, 2));
        assertTrue(duplicate.getMessage().contains("parameter 1 is listed twice"), duplicate.getMessage());
    }

    /** max |a - b|, NaN when either side holds a NaN (ND4J's amaxNumber skips NaN elements, Math.max keeps them). */
    private static double maxAbsDiff(INDArray a, INDArray b) {
        return Arrays.stream(a.sub(b).dup('c').data().asDouble()).map(Math::abs).reduce(0, Math::max);
    }
}
