// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import java.util.ArrayList;
import java.util.List;

/**
 * How a flat gradient buffer is cut into all-reduce buckets: fixed element ranges of at most {@code capacity}
 * elements taken from the end of the buffer (the last layers, whose gradients backward finishes first), so a
 * bucket may hold parts of several parameters and a large parameter spans several buckets. Bucket 0 is the last
 * range of the buffer; a bucket is ready once every parameter that overlaps it is complete.
 */
public final class GradientBuckets {
    private final long[] from;          // per bucket: first element
    private final long[] count;         // per bucket: elements
    private final int[][] parameters;   // per bucket: the parameters that overlap it
    private final int[][] buckets;      // per parameter: the buckets it overlaps

    /** Buckets over parameters of {@code lengths} elements laid out in order, at most {@code capacity} each. */
    public GradientBuckets(long[] lengths, long capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("GradientBuckets: capacity must be at least 1 element, got " + capacity);
        }
        long[] offsets = new long[lengths.length + 1];
        for (int i = 0; i < lengths.length; i++) {
            offsets[i + 1] = offsets[i] + lengths[i];
        }
        long total = offsets[lengths.length];
        int n = (int) ((total + capacity - 1) / capacity);
        from = new long[n];
        count = new long[n];
        parameters = new int[n][];
        List<List<Integer>> perParameter = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            perParameter.add(new ArrayList<>());
        }
        for (int b = 0; b < n; b++) {
            long end = total - b * capacity;
            from[b] = Math.max(0, end - capacity);
            count[b] = end - from[b];
            List<Integer> overlapping = new ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                if (lengths[i] > 0 && offsets[i] < end && offsets[i + 1] > from[b]) {
                    overlapping.add(i);
                    perParameter.get(i).add(b);
                }
            }
            parameters[b] = overlapping.stream().mapToInt(Integer::intValue).toArray();
        }
        buckets = new int[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            buckets[i] = perParameter.get(i).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** Elements per bucket for about {@code bytes} bytes of elements of {@code elementBytes} each. */
    public static long capacityFor(long bytes, int elementBytes) {
        return Math.max(1, bytes / elementBytes);
    }

    /** The parameters the layout was made for. */
    public int parameterCount() {
        return buckets.length;
    }

    public int size() {
        return from.length;
    }

    /** The first element of bucket {@code b} in the flat buffer. */
    public long from(int b) {
        return from[b];
    }

    /** The elements of bucket {@code b}. */
    public long count(int b) {
        return count[b];
    }

    /** The parameters that overlap bucket {@code b}, in layout order. */
    public int[] parametersOf(int b) {
        return parameters[b].clone();
    }

    /** The buckets parameter {@code i} overlaps (none for an empty parameter). */
    public int[] bucketsOf(int i) {
        return buckets[i].clone();
    }
}
