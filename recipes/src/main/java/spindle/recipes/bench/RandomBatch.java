// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.util.SplittableRandom;
import org.nd4j.linalg.factory.Nd4j;
import spindle.data.Batch;
import spindle.data.Dataset;

/** The bench's data: one batch of random tokens, as torch_ref.py's batch() makes, served at every step. */
final class RandomBatch {
    private RandomBatch() {}

    /**
     * A dataset of {@code batch} rows of random tokens [seq + 1] split into inputs and next-token targets; a
     * sequential loader with batch size {@code batch} asks for all its rows each step and gets the same batch.
     */
    static Dataset dataset(int vocab, int batch, int seq, long seed) {
        Batch fixed = tokens(vocab, batch, seq, seed);
        return new Dataset() {
            @Override
            public int size() {
                return batch;
            }

            @Override
            public Batch batch(int[] indices) {
                return fixed;   // indices are 0..batch-1 in order: the loader's batch is the whole dataset
            }
        };
    }

    private static Batch tokens(int vocab, int batch, int seq, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long[][] x = new long[batch][seq];
        long[][] y = new long[batch][seq];
        for (int b = 0; b < batch; b++) {
            long prev = rng.nextInt(vocab);
            for (int t = 0; t < seq; t++) {
                long next = rng.nextInt(vocab);
                x[b][t] = prev;
                y[b][t] = next;
                prev = next;
            }
        }
        return new Batch(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }
}
