// SPDX-License-Identifier: Apache-2.0
package spindle.data;

/**
 * How a {@link DataLoader} walks a dataset. {@link #of} gives PyTorch's defaults (sequential, keep the
 * last partial batch, one worker); {@code batchSize} is per worker, so the global batch is
 * batchSize * worldSize.
 *
 * @param batchSize examples per batch on this worker
 * @param order sequential, or a new seeded permutation each epoch
 * @param seed seed of the permutations (same on every worker)
 * @param lastBatch keep or drop an incomplete final batch (and, when sharding, the uneven tail)
 * @param rank this worker, in [0, worldSize)
 * @param worldSize number of data-parallel workers
 */
public record LoaderOptions(int batchSize, Order order, long seed, LastBatch lastBatch, int rank, int worldSize) {

    /** Example order within an epoch. */
    public enum Order { SEQUENTIAL, SHUFFLED }

    /** What to do with a final batch smaller than batchSize. */
    public enum LastBatch { KEEP, DROP }

    public LoaderOptions {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch_size must be >= 1, got " + batchSize);
        }
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank must be in [0, world_size) with world_size >= 1, got rank "
                + rank + " of " + worldSize);
        }
        if (order == null || lastBatch == null) {
            throw new IllegalArgumentException("order and lastBatch must not be null");
        }
    }

    /** Sequential order, last batch kept, a single worker. */
    public static LoaderOptions of(int batchSize) {
        return new LoaderOptions(batchSize, Order.SEQUENTIAL, 0, LastBatch.KEEP, 0, 1);
    }

    /** A fresh permutation every epoch, drawn from {@code seed} and the epoch number. */
    public LoaderOptions shuffled(long seed) {
        return new LoaderOptions(batchSize, Order.SHUFFLED, seed, lastBatch, rank, worldSize);
    }

    /** Drops the incomplete last batch (and the examples that do not divide evenly among workers). */
    public LoaderOptions dropLast() {
        return new LoaderOptions(batchSize, order, seed, LastBatch.DROP, rank, worldSize);
    }

    /** This worker's share: examples rank, rank + worldSize, ... of each epoch's order (PyTorch's DistributedSampler). */
    public LoaderOptions shard(int rank, int worldSize) {
        return new LoaderOptions(batchSize, order, seed, lastBatch, rank, worldSize);
    }
}
