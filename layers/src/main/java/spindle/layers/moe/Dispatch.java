// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

/**
 * Which (token, slot) pairs each expert processes, expert by expert. Within an expert the tokens are in
 * increasing order, so that a capacity limit keeps the earliest tokens and drops the later ones.
 *
 * <p>{@code tokens[start[e] .. start[e + 1])} are expert e's tokens and {@code slots} the matching flat
 * positions token * K + slot in the [N, K] routing weights; {@code routed[e]} counts the slots routed to e
 * before the capacity limit.
 */
record Dispatch(long[] tokens, long[] slots, int[] start, long[] routed) {

    /**
     * @param indices [N * K] chosen experts, token-major
     * @param capacity slots an expert may keep, 0 for no limit
     */
    static Dispatch of(long[] indices, int topK, int experts, long capacity) {
        long[] routed = new long[experts];
        for (long e : indices) {
            routed[(int) e]++;
        }
        int[] start = new int[experts + 1];
        for (int e = 0; e < experts; e++) {
            long kept = capacity > 0 ? Math.min(routed[e], capacity) : routed[e];
            start[e + 1] = start[e] + (int) kept;
        }
        long[] tokens = new long[start[experts]];
        long[] slots = new long[start[experts]];
        int[] next = start.clone();
        for (int p = 0; p < indices.length; p++) {
            int e = (int) indices[p];
            if (next[e] < start[e + 1]) {   // else expert e is full: this slot is dropped
                tokens[next[e]] = p / topK;
                slots[next[e]] = p;
                next[e]++;
            }
        }
        return new Dispatch(tokens, slots, start, routed);
    }

    /** Slots expert e keeps. */
    int kept(int e) {
        return start[e + 1] - start[e];
    }
}
