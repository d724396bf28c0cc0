// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Temporaries of an optimizer step without a fresh off-heap allocation per step: per dtype and slot one
 * flat buffer as long as the largest parameter, handed out as views shaped like the parameter at hand.
 * PyTorch's single-tensor loop allocates these per parameter and step; the peak memory is the same.
 */
final class Scratch {
    private final Map<DataType, Long> longest;
    private final Map<String, INDArray> flats = new HashMap<>();
    private final Map<String, INDArray> views = new HashMap<>();

    /** {@code longest}: the element count of the largest parameter per dtype, so the buffers never regrow. */
    Scratch(Map<DataType, Long> longest) {
        this.longest = Map.copyOf(longest);
    }

    /** A view shaped like {@code like}, of its dtype, with stale contents; slot k and slot j != k never overlap. */
    INDArray like(int slot, INDArray like) {
        DataType dt = like.dataType();
        String flatKey = dt + "#" + slot;
        String viewKey = flatKey + Arrays.toString(like.shape());
        INDArray view = views.get(viewKey);
        if (view != null) {
            return view;
        }
        long n = like.length();
        INDArray flat = flats.get(flatKey);
        if (flat == null || flat.length() < n) {
            flat = Nd4j.create(dt, Math.max(1, Math.max(n, longest.getOrDefault(dt, 0L))));
            flats.put(flatKey, flat);
            views.keySet().removeIf(k -> k.startsWith(flatKey + "["));
        }
        view = n == 0 ? Nd4j.create(dt, like.shape())
            : flat.get(NDArrayIndex.interval(0, n)).reshape('c', like.shape());
        views.put(viewKey, view);
        return view;
    }
}
