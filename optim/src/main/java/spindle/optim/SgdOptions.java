// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SGD hyper-parameters as torch.optim.SGD: the learning rate has no default ({@link #of}); momentum,
 * dampening and weight decay default to 0 and Nesterov to off. Nesterov needs momentum > 0 and zero
 * dampening, as in PyTorch.
 */
public record SgdOptions(double lr, double momentum, double dampening, double weightDecay, boolean nesterov)
        implements OptimizerOptions {
    private static final String OWNER = "SGD";

    public SgdOptions {
        Check.nonNegative(lr, OWNER, "lr");
        Check.nonNegative(momentum, OWNER, "momentum");
        Check.finite(dampening, OWNER, "dampening");
        Check.nonNegative(weightDecay, OWNER, "weight_decay");
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException(OWNER + ": nesterov needs momentum > 0 and dampening 0 but momentum is "
                + momentum + " and dampening is " + dampening);
        }
    }

    /** Plain SGD with learning rate {@code lr}: p -= lr * grad. */
    public static SgdOptions of(double lr) {
        return new SgdOptions(lr, 0, 0, 0, false);
    }

    /** A copy with learning rate {@code v}. */
    @Override
    public SgdOptions withLr(double v) {
        return new SgdOptions(v, momentum, dampening, weightDecay, nesterov);
    }

    /** A copy with momentum factor {@code v} (0 turns momentum off). */
    public SgdOptions withMomentum(double v) {
        return new SgdOptions(lr, v, dampening, weightDecay, nesterov);
    }

    /** A copy with dampening {@code v}: the new gradient enters the buffer with weight 1 - v. */
    public SgdOptions withDampening(double v) {
        return new SgdOptions(lr, momentum, v, weightDecay, nesterov);
    }

    /** A copy with weight decay {@code v}. */
    public SgdOptions withWeightDecay(double v) {
        return new SgdOptions(lr, momentum, dampening, v, nesterov);
    }

    /** A copy with Nesterov momentum on or off. */
    public SgdOptions withNesterov(boolean v) {
        return new SgdOptions(lr, momentum, dampening, weightDecay, v);
    }

    @Override
    public SgdOptions with(String name, double value) {
        return switch (name) {
            case "lr" -> withLr(value);
            case "momentum" -> withMomentum(value);
            case "dampening" -> withDampening(value);
            case "weight_decay" -> withWeightDecay(value);
            case "nesterov" -> withNesterov(Check.flag(value, OWNER, name));
            default -> throw Check.unknownOption(OWNER, name, hyperParameters().keySet());
        };
    }

    @Override
    public Map<String, Double> hyperParameters() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("momentum", momentum);
        m.put("dampening", dampening);
        m.put("weight_decay", weightDecay);
        m.put("nesterov", nesterov ? 1.0 : 0.0);
        return m;
    }
}
