// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

/** Row-major (C order) flat positions and their coordinates, for messages that point at one element. */
public final class FlatIndex {
    private FlatIndex() {}

    /** The coordinates of flat position {@code flat} in an array of {@code shape}, e.g. 5 in [2, 3] → [1, 2]. */
    public static long[] unravel(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}
