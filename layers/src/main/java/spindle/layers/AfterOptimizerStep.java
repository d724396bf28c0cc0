// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

/**
 * A module with state that a rule moves once per optimizer step instead of the gradient, such as DeepSeek-V3's
 * loss-free balancing bias. The module gathers what the rule needs from the step's training forwards itself;
 * a training loop only calls {@link #callAll} once after each optimizer step, and needs no knowledge of the layer.
 */
public interface AfterOptimizerStep {

    /** Applies the rule to what this module saw since the previous call. */
    void afterOptimizerStep();

    /** Calls {@link #afterOptimizerStep()} on {@code model} and each descendant that implements it, in registration order. */
    static void callAll(Module model) {
        for (Module m : model.namedModules().values()) {
            if (m instanceof AfterOptimizerStep rule) {
                rule.afterOptimizerStep();
            }
        }
    }
}
