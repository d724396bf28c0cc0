// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Checks one quantized linear's tensors in a converted weights file before they are loaded: loading alone
 * would cast a float "weight" to int8 or accept a code outside the scheme's range without a word.
 */
final class ConvertedTensors {
    private ConvertedTensors() {}

    /** Fails naming {@code file} and the tensor when the codes, scales or zeros of {@code module} do not fit {@code layer}. */
    static void check(Path file, String module, QuantizedLinear layer, Map<String, INDArray> state) {
        QuantizedWeight expected = layer.quantizedWeight();
        QatScheme scheme = layer.scheme();
        INDArray codes = require(file, module + ".weight", state, expected.codes().shape());
        if (codes.dataType() != DataType.BYTE) {
            throw bad(file, module + ".weight", "must hold int8 (I8) codes of " + scheme.id() + " but is " + codes.dataType()
                + " (is this directory a float model with a quantization_config?)");
        }
        QuantGrid grid = scheme.weightGrid();
        double lo = codes.minNumber().doubleValue();
        double hi = codes.maxNumber().doubleValue();
        if (lo < grid.lo || hi > grid.hi) {
            throw bad(file, module + ".weight", "has codes in [" + (long) lo + ", " + (long) hi + "] but " + scheme.id()
                + " codes lie in [" + (long) grid.lo + ", " + (long) grid.hi + "]");
        }
        checkFloats(file, module + ".scales", require(file, module + ".scales", state, expected.scales().shape()), true);
        if (expected.zeros() != null) {
            checkFloats(file, module + ".zeros", require(file, module + ".zeros", state, expected.zeros().shape()), false);
        }
    }

    private static INDArray require(Path file, String key, Map<String, INDArray> state, long[] shape) {
        INDArray t = state.get(key);
        if (t == null) {
            throw bad(file, key, "is missing (a converted model stores every quantized linear's codes and scales)");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw bad(file, key, "has shape " + Arrays.toString(t.shape()) + " but the model needs " + Arrays.toString(shape));
        }
        return t;
    }

    private static void checkFloats(Path file, String key, INDArray t, boolean positive) {
        if (!t.dataType().isFPType()) {
            throw bad(file, key, "must be floating point but is " + t.dataType());
        }
        INDArray d = t.castTo(DataType.DOUBLE);
        double min = d.minNumber().doubleValue();
        double max = d.maxNumber().doubleValue();
        if (!Double.isFinite(min) || !Double.isFinite(max) || d.isNaN().any()) {
            throw bad(file, key, "holds a NaN or an infinity");
        }
        if (positive && !(min > 0)) {
            throw bad(file, key, "must be positive but has " + min);
        }
    }

    private static IllegalArgumentException bad(Path file, String key, String problem) {
        return new IllegalArgumentException(file + ": tensor '" + key + "' " + problem);
    }
}
