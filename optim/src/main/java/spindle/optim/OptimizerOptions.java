// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.Map;

/**
 * Hyper-parameters of one optimizer, resolved for one parameter group. Besides the typed record
 * accessors every option has a PyTorch-style name ("lr", "weight_decay", "beta1", ...; flags are 0 or
 * 1) used by per-group overrides, logs and checkpoints. A new optimizer brings its own options record.
 */
public interface OptimizerOptions {
    /** Learning rate. */
    double lr();

    /** Weight decay (L2 added to the gradient for SGD and Adam, decoupled for AdamW). */
    double weightDecay();

    /** A copy with learning rate {@code lr}. */
    OptimizerOptions withLr(double lr);

    /** A copy with the option called {@code name} set to {@code value}; an unknown name is an error listing the known ones. */
    OptimizerOptions with(String name, double value);

    /** Every option by name, in a fixed order (flags as 0 or 1). */
    Map<String, Double> hyperParameters();
}
