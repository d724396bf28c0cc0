// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.kernels.NativeAttentionTest.assertSameBits;
import static spindle.autograd.kernels.NativeAttentionTest.requireNative;
import static spindle.autograd.kernels.NativeAttentionTest.values;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Autograd;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Losses.Reduction;

/**
 * Cross-entropy's native kernels (loss.c) against the Java twins, bit for bit: the loss (MEAN, SUM, NONE) and the
 * logits' gradient, with ignored targets and edge logits (infinities, NaN, huge values), small and above the Java
 * kernels' default limit (tiny-llama's 2,048 rows of 512 classes).
 */
class NativeLossTest {
    @Test
    void crossEntropyEqualsTheJavaTwinBitForBit() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(21);
        for (int[] s : new int[][] {{3, 7}, {2, 3}, {2048, 512}, {33, 1200}}) {
            int n = s[0], c = s[1];
            float[] x = values(rng, n * c, 12);
            long[] t = new long[n];
            for (int r = 0; r < n; r++) {
                t[r] = n > 1 && r % 5 == 1 ? Losses.IGNORE_INDEX : rng.nextInt(c);
            }
            for (Reduction reduction : Reduction.values()) {
                INDArray logits = Nd4j.create(x, new long[] {n, c}, 'c');
                INDArray seed = Nd4j.create(values(rng, reduction == Reduction.NONE ? n : 1, 2),
                    reduction == Reduction.NONE ? new long[] {n} : new long[0], 'c');
                assertTrue(NativeLoss.fits(logits));
                List<INDArray> nat = run(logits, t, reduction, seed);
                List<INDArray> java;
                try (SmallKernels.Scope off = NativeKernels.off(); SmallKernels.Scope all = SmallKernels.limit(Long.MAX_VALUE)) {
                    java = run(logits, t, reduction, seed);
                }
                String what = reduction + " [" + n + ", " + c + "] ";
                assertSameBits(what + "loss", java.get(0), nat.get(0), null);
                assertSameBits(what + "gradient", java.get(1), nat.get(1), x);
            }
        }
    }

    private static List<INDArray> run(INDArray logits, long[] t, Reduction reduction, INDArray seed) {
        Tensor x = Tensor.of(logits.dup()).requiresGrad(true);
        Tensor loss = Losses.crossEntropy(x, Tensor.of(Nd4j.createFromArray(t)), Losses.IGNORE_INDEX, reduction);
        return List.of(loss.value(), Autograd.grad(List.of(loss), List.of(x), List.of(seed), false).get(0));
    }
}
