// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.ops.Activations.relu;
import static spindle.autograd.ops.Linalg.linear;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.ops.Losses;

/**
 * A long run does not grow memory: nothing that one step allocates outlives it. Every reading is taken
 * after a full GC, so the bound tests retention (a graph, a gradient or a saved array kept across steps);
 * that the tape frees its intermediates at backward without the GC is tested in {@link AutogradTest}.
 */
class MemoryTest {
    private static final int STEPS = 5000;
    private static final int WARM_UP = 1000;
    private static final int READING_EVERY = 500;
    private static final long BOUND_BYTES = 48L << 20;

    @Test
    void fiveThousandTrainingStepsDoNotGrowMemory() {
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.FLOAT, 64, 32);
        INDArray y = Nd4j.randn(DataType.FLOAT, 64, 1);
        Tensor input = Tensor.of(x);
        Tensor target = Tensor.of(y);
        List<Tensor> params = List.of(
            Tensor.of(Nd4j.randn(DataType.FLOAT, 256, 32).muli(0.1)).requiresGrad(true),
            Tensor.of(Nd4j.zeros(DataType.FLOAT, 256)).requiresGrad(true),
            Tensor.of(Nd4j.randn(DataType.FLOAT, 1, 256).muli(0.1)).requiresGrad(true),
            Tensor.of(Nd4j.zeros(DataType.FLOAT, 1)).requiresGrad(true));
        // Each step allocates about 0.5 MB of activations and gradients: 5,000 leaked steps would be ~2.5 GB.
        List<Long> readings = new ArrayList<>();
        double first = 0;
        double last = 0;
        for (int step = 0; step < STEPS; step++) {
            Tensor h = relu(linear(input, params.get(0), params.get(1)));
            Tensor loss = Losses.mse(linear(h, params.get(2), params.get(3)), target);
            loss.backward();
            last = loss.item();
            first = step == 0 ? last : first;
            loss.close();
            try (GradMode.Scope off = GradMode.disable()) {
                for (Tensor p : params) {
                    p.mutate(v -> v.subi(p.grad().muli(0.01)));
                    p.zeroGrad();
                }
            }
            if (step + 1 >= WARM_UP && (step + 1) % READING_EVERY == 0) {
                readings.add(settledResidentBytes());
            }
        }
        // RSS also moves with the JIT and the Java heap; the median of the first and of the last three
        // readings ignores one-off jumps, while a leak grows every reading.
        long growth = medianOf(readings.subList(readings.size() - 3, readings.size()))
            - medianOf(readings.subList(0, 3));
        assertTrue(last < first, "the MLP should learn: loss " + first + " -> " + last);
        assertTrue(growth < BOUND_BYTES, "resident memory grew by " + (growth >> 20) + " MB after warm-up"
            + " (bound " + (BOUND_BYTES >> 20) + " MB); readings in MB every " + READING_EVERY + " steps: "
            + readings.stream().map(r -> r >> 20).toList());
    }

    private static long medianOf(List<Long> three) {
        List<Long> sorted = new ArrayList<>(three);
        Collections.sort(sorted);
        return sorted.get(1);
    }

    /** Resident bytes once the GC has run, ND4J's deallocator threads have freed what it found, and malloc trimmed. */
    private static long settledResidentBytes() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        trimMalloc();
        return Pointer.physicalBytes();
    }

    /**
     * glibc keeps freed pages in its arenas, so without malloc_trim RSS reports the peak of a run, not what is
     * live. JavaCPP wraps malloc_trim as a private Pointer.trimMemory(); it is reached by reflection here.
     */
    private static void trimMalloc() {
        try {
            java.lang.reflect.Method trim = Pointer.class.getDeclaredMethod("trimMemory");
            trim.setAccessible(true);
            trim.invoke(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("JavaCPP's Pointer.trimMemory is gone; update MemoryTest", e);
        }
    }
}
