// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import spindle.autograd.Tensor;

/**
 * Named parameters (Hugging Face state-dict keys, in insertion order) that share hyper-parameters, as a
 * PyTorch param-group dict: options not overridden here come from the optimizer's defaults.
 *
 * <p>Overrides use the options' names: {@code ParamGroup.of(named).withLr(1e-4).withOption("beta2", 0.95)}.
 */
public record ParamGroup(Map<String, Tensor> params, Map<String, Double> overrides) {

    public ParamGroup {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(overrides, "overrides");
        params.forEach((name, t) -> Objects.requireNonNull(t, () -> "parameter '" + name + "' is null"));
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    /** A group of {@code named} with no overrides. */
    public static ParamGroup of(Map<String, Tensor> named) {
        return new ParamGroup(named, Map.of());
    }

    /** A copy whose learning rate is {@code lr} instead of the optimizer's default. */
    public ParamGroup withLr(double lr) {
        return withOption("lr", lr);
    }

    /** A copy whose weight decay is {@code wd} instead of the optimizer's default. */
    public ParamGroup withWeightDecay(double wd) {
        return withOption("weight_decay", wd);
    }

    /** A copy with the option called {@code name} overridden; the optimizer rejects names it does not know. */
    public ParamGroup withOption(String name, double value) {
        Map<String, Double> o = new LinkedHashMap<>(overrides);
        o.put(Objects.requireNonNull(name, "name"), value);
        return new ParamGroup(params, o);
    }
}
