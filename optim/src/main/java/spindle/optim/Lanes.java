// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.ArrayList;
import java.util.List;

/** Deals work items of known sizes out to parallel lanes so that the lanes carry about equal totals. */
public final class Lanes {
    private Lanes() {}

    /**
     * Item indices per lane: the largest item first, each to the lane with the smallest total so far (ties to
     * the lower lane), so the same sizes always give the same lanes.
     */
    public static List<List<Integer>> deal(List<Long> sizes, int lanes) {
        if (lanes < 1) {
            throw new IllegalArgumentException("lanes must be at least 1 but is " + lanes);
        }
        List<List<Integer>> dealt = new ArrayList<>();
        long[] load = new long[lanes];
        for (int l = 0; l < lanes; l++) {
            dealt.add(new ArrayList<>());
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < sizes.size(); i++) {
            order.add(i);
        }
        order.sort((a, b) -> Long.compare(sizes.get(b), sizes.get(a)));
        for (int i : order) {
            int lightest = 0;
            for (int l = 1; l < lanes; l++) {
                lightest = load[l] < load[lightest] ? l : lightest;
            }
            dealt.get(lightest).add(i);
            load[lightest] += sizes.get(i);
        }
        return dealt;
    }
}
