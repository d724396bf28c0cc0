// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

/**
 * Which tokens each expert processes, expert by expert, and where each (token, slot) finds its expert's
 * output. Within an expert the tokens are in increasing order, so that a capacity limit keeps the earliest
 * tokens and drops the later ones.
 *
 * <p>{@code tokens[start[e] .. start[e + 1])} are expert e's tokens; stacking the experts' outputs in that
 * order gives M = start[E] rows, and {@code rowOfSlot[token * K + slot]} is the row of that slot's output, or M
 * (one row past the last) for a dropped slot. {@code routed[e]} counts the slots routed to e before the
 * capacity limit.
 */
record Dispatch(long[] tokens, int[] start, long[] rowOfSlot, long[] routed) {

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
        int m = start[experts];
        long[] tokens = new long[m];
        long[] rowOfSlot = new long[indices.length];
        int[] next = start.clone();
        for (int p = 0; p < indices.length; p++) {
            int e = (int) indices[p];
            if (next[e] < start[e + 1]) {
                tokens[next[e]] = p / topK;
                rowOfSlot[p] = next[e]++;
            } else {   // expert e is full: this slot is dropped
                rowOfSlot[p] = m;
            }
        }
        return new Dispatch(tokens, start, rowOfSlot, routed);
    }

    /** Slots expert e keeps. */
    int kept(int e) {
        return start[e + 1] - start[e];
    }

    /** Slots kept by all experts together (M). */
    int keptTotal() {
        return start[start.length - 1];
    }
}
