// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One parameter's optimizer state: its step count and named buffers in the parameter's dtype and shape,
 * with PyTorch's state keys ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer").
 */
public final class ParamState {
    private long step;
    private final Map<String, INDArray> buffers = new LinkedHashMap<>();

    ParamState() {}

    /** Steps this parameter has taken, counting the one in progress (PyTorch's state["step"]). */
    public long step() {
        return step;
    }

    /** The buffer called {@code key}, or null before it is first made. */
    public INDArray buffer(String key) {
        return buffers.get(key);
    }

    /** The buffer called {@code key}, made as zeros shaped like {@code like} (and of its dtype) on first use. */
    public INDArray bufferOrZeros(String key, INDArray like) {
        return buffers.computeIfAbsent(key, k -> Nd4j.zeros(like.dataType(), like.shape()));
    }

    /** Stores {@code value} (not copied) as the buffer called {@code key}; returns it. */
    public INDArray put(String key, INDArray value) {
        buffers.put(key, value);
        return value;
    }

    /** All buffers by key, read-only, in the order they were made. */
    public Map<String, INDArray> buffers() {
        return Collections.unmodifiableMap(buffers);
    }

    void advance() {
        step++;
    }

    void setStep(long s) {
        step = s;
    }
}
