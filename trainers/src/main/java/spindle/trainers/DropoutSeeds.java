// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static spindle.trainers.TrainingRandom.mix;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Seeds for dropout masks that depend only on the run's seed, the step, the data-parallel replica and how many
 * seeds that replica drew in that step: not on the order in which replica threads happen to ask, so a run is
 * repeatable and a resumed run (which restores the step) draws the masks the straight run drew.
 *
 * <pre>{@code
 * adapted.setDropoutSeeds(new DropoutSeeds(seed, rank, trainer::step));
 * }</pre>
 */
public final class DropoutSeeds implements LongSupplier {
    private final long seed;
    private final LongSupplier steps;
    private final Map<Integer, long[]> drawn = new ConcurrentHashMap<>();   // replica -> {step, seeds drawn in it}

    /**
     * Seeds from {@code seed} and {@code stream} (e.g. the process's rank, so each process draws its own masks);
     * {@code steps} tells the step being trained (the trainer's steps done so far).
     */
    public DropoutSeeds(long seed, long stream, LongSupplier steps) {
        this.seed = mix(seed) ^ mix(mix(stream) + 1);
        this.steps = steps;
    }

    @Override
    public long getAsLong() {
        int replica = DataParallel.currentReplica();
        long step = steps.getAsLong();
        long[] count = drawn.computeIfAbsent(replica, r -> new long[] {step, 0});
        long n;
        synchronized (count) {
            if (count[0] != step) {
                count[0] = step;
                count[1] = 0;
            }
            n = count[1]++;
        }
        return mix(seed ^ mix(step ^ mix(replica ^ mix(n))));
    }
}
