// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

/**
 * How many data-parallel replicas bench runs when none is asked for: one per thread, as long as each replica
 * still gets {@value #MIN_TOKENS_PER_REPLICA} tokens a step. Below that a step is mostly fixed costs per op and
 * per array, which every replica pays again on its share of the batch: small-mha (128 tokens) took 12-13 ms a
 * step on one replica against 22-26 ms on two, small-mla-moe (192 tokens) 34-51 ms against 49-90.
 */
final class ReplicaCount {
    static final int MIN_TOKENS_PER_REPLICA = 512;

    private ReplicaCount() {}

    /** The replicas for {@code batch} rows of {@code seq} tokens on {@code threads} threads: 1 up to min(threads, batch). */
    static int automatic(int threads, int batch, int seq) {
        if (threads < 1 || batch < 1 || seq < 1) {
            throw new IllegalArgumentException("threads, batch and seq must be at least 1 but are " + threads + ", "
                + batch + ", " + seq);
        }
        long byWork = (long) batch * seq / MIN_TOKENS_PER_REPLICA;
        return (int) Math.max(1, Math.min(byWork, Math.min(threads, batch)));
    }
}
