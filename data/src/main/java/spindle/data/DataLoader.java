// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * Batches from a {@link Dataset}, epoch after epoch without end: {@code next()} after the last batch of an
 * epoch starts the next one (reshuffled when the order is shuffled). Each epoch's order depends only on
 * (seed, epoch), so any worker and any resumed run computes the same order; {@link #position()} and
 * {@link #restore} carry the place across a checkpoint.
 */
public final class DataLoader implements Iterator<Batch> {
    private final Dataset data;
    private final LoaderOptions options;
    private long seed;
    private int epoch;
    private int index;
    private int[] order;
    private int orderEpoch = -1;

    /** A loader at the start of epoch 0. */
    public DataLoader(Dataset data, LoaderOptions options) {
        this.data = data;
        this.options = options;
        this.seed = options.seed();
    }

    /** Examples this worker sees per epoch: ceil(n / worldSize), or floor when dropping the last batch. */
    public int samplesPerEpoch() {
        int n = data.size();
        int w = options.worldSize();
        return options.lastBatch() == LoaderOptions.LastBatch.DROP ? n / w : (n + w - 1) / w;
    }

    /** Batches per epoch on this worker. */
    public int batchesPerEpoch() {
        int s = samplesPerEpoch();
        int b = options.batchSize();
        return options.lastBatch() == LoaderOptions.LastBatch.DROP ? s / b : (s + b - 1) / b;
    }

    /** True while an epoch has at least one batch (the stream of epochs itself never ends). */
    @Override
    public boolean hasNext() {
        return batchesPerEpoch() > 0;
    }

    /** The next batch; moves to the next epoch after the last batch of this one. */
    @Override
    public Batch next() {
        int perEpoch = batchesPerEpoch();
        if (perEpoch == 0) {
            throw new NoSuchElementException(data.size() + " examples give no full batch of " + options.batchSize()
                + " per worker with " + options.worldSize() + " worker(s) and drop-last");
        }
        int[] rows = epochOrder(epoch);
        int from = index * options.batchSize();
        int[] picked = Arrays.copyOfRange(rows, from, Math.min(from + options.batchSize(), rows.length));
        index++;
        if (index == perEpoch) {
            epoch++;
            index = 0;
        }
        return data.batch(picked);
    }

    /**
     * This worker's example indices for {@code epoch}, in order: the epoch's permutation (identity when
     * sequential) padded by wrapping around to a multiple of worldSize, then every worldSize-th from rank.
     */
    public int[] epochOrder(int epoch) {
        if (epoch == orderEpoch) {
            return order;
        }
        int n = data.size();
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        if (options.order() == LoaderOptions.Order.SHUFFLED) {
            SplittableRandom rng = new SplittableRandom(mix(seed ^ mix(epoch)));
            for (int i = n - 1; i > 0; i--) {   // Fisher-Yates
                int j = rng.nextInt(i + 1);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
        }
        int[] mine = new int[samplesPerEpoch()];
        for (int k = 0; k < mine.length; k++) {
            mine[k] = perm[(options.rank() + k * options.worldSize()) % n];
        }
        order = mine;
        orderEpoch = epoch;
        return mine;
    }

    /** SplitMix64's finalizer: nearby (seed, epoch) pairs give unrelated generator seeds. */
    private static long mix(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Where the next batch comes from. */
    public LoaderPosition position() {
        return new LoaderPosition(epoch, index, seed);
    }

    /**
     * Continues from a saved position: the next batch is the one that followed it in the saved run. The
     * position's seed is adopted, so a run resumes with its own order even if the configured seed changed.
     */
    public void restore(LoaderPosition p) {
        int perEpoch = batchesPerEpoch();
        if (p.index() > perEpoch) {
            throw new IllegalArgumentException("position " + p + " is past the " + perEpoch + " batches of an epoch;"
                + " did the data, batch size or world size change since it was saved?");
        }
        seed = p.seed();
        orderEpoch = -1;
        epoch = p.index() == perEpoch ? p.epoch() + 1 : p.epoch();
        index = p.index() == perEpoch ? 0 : p.index();
    }

    /** The batches left in the current epoch, for PyTorch-style {@code for (Batch b : loader.restOfEpoch())} loops. */
    public Iterable<Batch> restOfEpoch() {
        int current = epoch;
        return () -> new Iterator<>() {
            @Override
            public boolean hasNext() {
                return epoch == current && batchesPerEpoch() > 0;
            }

            @Override
            public Batch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("epoch " + current + " is over");
                }
                return DataLoader.this.next();
            }
        };
    }

    /** The epoch of the next batch. */
    public int epoch() {
        return epoch;
    }
}
