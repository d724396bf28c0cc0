// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.util.Arrays;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;

/**
 * Times one small op through the tape (forward + backward, graph released each time) and the bare ND4J
 * call underneath, and prints one JSON line. The PyTorch counterpart is recipes/python/op_overhead.py.
 */
@Command(name = "op-overhead", mixinStandardHelpOptions = true,
    description = "Per-op overhead of a small op (µs), as one JSON line.")
public final class OpOverhead implements Callable<Integer> {
    @Option(names = "--size", description = "Side of the square float32 operands (default: ${DEFAULT-VALUE}).")
    int size = 8;

    @Option(names = "--iters", description = "Timed iterations per measurement (default: ${DEFAULT-VALUE}).")
    int iters = 20000;

    @Override
    public Integer call() {
        Tensor a = Tensor.of(Nd4j.rand(DataType.FLOAT, size, size)).requiresGrad(true);
        Tensor b = Tensor.of(Nd4j.rand(DataType.FLOAT, size, size)).requiresGrad(true);
        var seed = Nd4j.ones(DataType.FLOAT, size, size);
        double nd4j = median(() -> a.value().add(b.value()).close());
        double forward = median(() -> Elementwise.add(a, b).close());
        double step = median(() -> {
            Tensor c = Elementwise.mul(a, b);
            c.backward(seed);
            c.close();
            a.zeroGrad();
            b.zeroGrad();
        });
        System.out.printf("{\"op\":\"add/mul\",\"shape\":[%d,%d],\"nd4j_add_us\":%.2f,\"tape_add_forward_us\":%.2f,"
            + "\"tape_mul_forward_backward_us\":%.2f}%n", size, size, nd4j, forward, step);
        return 0;
    }

    /** Median over 5 rounds of the mean time per call, after a warm-up round. */
    private double median(Runnable body) {
        double[] rounds = new double[5];
        for (int r = -1; r < rounds.length; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                body.run();
            }
            if (r >= 0) {
                rounds[r] = (System.nanoTime() - t0) / 1e3 / iters;
            }
        }
        Arrays.sort(rounds);
        return rounds[rounds.length / 2];
    }
}
