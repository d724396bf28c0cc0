// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The scalar half of an optimizer checkpoint, written as JSON next to the tensors of
 * {@link Optimizer#stateTensors()}: which optimizer, each group's parameter names, initial lr and
 * current hyper-parameters, and each parameter's step count (PyTorch's state["step"]).
 */
public record OptimizerState(String optimizer, List<Group> groups, Map<String, Long> steps) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public OptimizerState {
        groups = List.copyOf(groups);
        steps = Collections.unmodifiableMap(new LinkedHashMap<>(steps));
    }

    /** One parameter group: its names in order, the lr schedules scale, and the options in force. */
    public record Group(List<String> params, double initialLr, Map<String, Double> hyperParameters) {
        public Group {
            params = List.copyOf(params);
            hyperParameters = Collections.unmodifiableMap(new LinkedHashMap<>(hyperParameters));
        }
    }

    /** This state as JSON; doubles are written so that they read back bit for bit. */
    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("optimizer state cannot be written as JSON", e);
        }
    }

    /** Reads what {@link #toJson()} wrote. */
    public static OptimizerState fromJson(String json) {
        try {
            return JSON.readValue(json, OptimizerState.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not an optimizer state: " + e.getOriginalMessage(), e);
        }
    }
}
