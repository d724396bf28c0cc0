// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.SplittableRandom;

/**
 * The run's source of randomness (dropout masks, sampling inside an objective), kept as two numbers so a
 * checkpoint can hold it exactly: draw n gives a generator seeded from (seed, n). SplittableRandom itself
 * cannot be saved, so objectives take a fresh one per use from {@link #next()} instead of keeping one.
 * Thread-safe: data-parallel replicas draw from one source, in the order they get to it, which varies from run to
 * run; {@link DropoutSeeds} gives each replica its own repeatable seeds.
 */
public final class TrainingRandom {
    private long seed;
    private long draws;

    /** A source at draw 0. */
    public TrainingRandom(long seed) {
        this(seed, 0);
    }

    /** A source that continues after {@code draws} draws (what a checkpoint restores). */
    public TrainingRandom(long seed, long draws) {
        if (draws < 0) {
            throw new IllegalArgumentException("draws must be >= 0, got " + draws);
        }
        this.seed = seed;
        this.draws = draws;
    }

    /** A generator for one use; the same (seed, draw number) always gives the same one. */
    public synchronized SplittableRandom next() {
        return new SplittableRandom(mix(seed ^ mix(draws++)));
    }

    /** A seed for one use, e.g. for {@code Activations.dropout(x, p, training, seed)}. */
    public long nextSeed() {
        return next().nextLong();
    }

    public synchronized long seed() {
        return seed;
    }

    /** Draws taken so far. */
    public synchronized long draws() {
        return draws;
    }

    /** Continues as the source saved with (seed, draws) would; the same object, so objectives keep it. */
    synchronized void restore(long savedSeed, long savedDraws) {
        this.seed = savedSeed;
        this.draws = savedDraws;
    }

    /** SplitMix64's finalizer: neighbouring draw numbers give unrelated seeds. */
    static long mix(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
