// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.layers.Module;

/**
 * {@code eval}'s check of its result: a NaN or infinite loss is no measurement (and not JSON), so it is an error
 * naming the model directory and the weights that are not finite, if any.
 */
final class FiniteEval {
    private FiniteEval() {}

    static void requireFinite(double loss, Module model, Path modelDir, String split) {
        if (Double.isFinite(loss)) {
            return;
        }
        List<String> bad = model.stateDict().entrySet().stream()
            .filter(e -> !finite(e.getValue()))
            .map(Map.Entry::getKey)
            .toList();
        String why = bad.isEmpty() ? "its weights are finite, so the forward pass overflows"
            : bad.size() + " of its " + model.stateDict().size() + " weight tensors hold NaN or Inf (first "
                + bad.get(0) + "); retrain it, e.g. from an earlier checkpoint with a lower train.lr";
        throw new IllegalArgumentException("--model-dir " + modelDir + ": the loss on the " + split + " split is "
            + loss + ": " + why);
    }

    private static boolean finite(INDArray a) {
        return !a.dataType().isFPType() || !(a.isNaN().any() || a.isInfinite().any());
    }
}
