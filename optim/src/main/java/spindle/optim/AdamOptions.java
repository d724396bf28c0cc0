// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam hyper-parameters as torch.optim.Adam. defaults() are PyTorch's: lr 1e-3, betas (0.9, 0.999),
 * eps 1e-8, weight decay 0 (an L2 term wd * p added to the gradient), amsgrad off.
 */
public record AdamOptions(double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad)
        implements OptimizerOptions {

    public AdamOptions {
        validate("Adam", lr, beta1, beta2, eps, weightDecay);
    }

    /** PyTorch's defaults, listed in the type's description. */
    public static AdamOptions defaults() {
        return new AdamOptions(1e-3, 0.9, 0.999, 1e-8, 0, false);
    }

    /** A copy with learning rate {@code v}. */
    @Override
    public AdamOptions withLr(double v) {
        return new AdamOptions(v, beta1, beta2, eps, weightDecay, amsgrad);
    }

    /** A copy with the moment decay rates (beta1, beta2) = ({@code b1}, {@code b2}). */
    public AdamOptions withBetas(double b1, double b2) {
        return new AdamOptions(lr, b1, b2, eps, weightDecay, amsgrad);
    }

    /** A copy with eps {@code v}, added to sqrt(v_hat) in the denominator. */
    public AdamOptions withEps(double v) {
        return new AdamOptions(lr, beta1, beta2, v, weightDecay, amsgrad);
    }

    /** A copy with weight decay {@code v}. */
    public AdamOptions withWeightDecay(double v) {
        return new AdamOptions(lr, beta1, beta2, eps, v, amsgrad);
    }

    /** A copy with AMSGrad on or off (divide by the running maximum of v instead of v). */
    public AdamOptions withAmsgrad(boolean v) {
        return new AdamOptions(lr, beta1, beta2, eps, weightDecay, v);
    }

    @Override
    public AdamOptions with(String name, double value) {
        return switch (name) {
            case "lr" -> withLr(value);
            case "beta1" -> withBetas(value, beta2);
            case "beta2" -> withBetas(beta1, value);
            case "eps" -> withEps(value);
            case "weight_decay" -> withWeightDecay(value);
            case "amsgrad" -> withAmsgrad(Check.flag(value, "Adam", name));
            default -> throw Check.unknownOption("Adam", name, hyperParameters().keySet());
        };
    }

    @Override
    public Map<String, Double> hyperParameters() {
        return named(lr, beta1, beta2, eps, weightDecay, amsgrad);
    }

    /** PyTorch's checks: lr, eps and weight decay >= 0, each beta in [0, 1). */
    static void validate(String owner, double lr, double beta1, double beta2, double eps, double weightDecay) {
        Check.nonNegative(lr, owner, "lr");
        Check.inUnitRange(beta1, owner, "beta1");
        Check.inUnitRange(beta2, owner, "beta2");
        Check.nonNegative(eps, owner, "eps");
        Check.nonNegative(weightDecay, owner, "weight_decay");
    }

    static Map<String, Double> named(double lr, double beta1, double beta2, double eps, double wd, boolean amsgrad) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("beta1", beta1);
        m.put("beta2", beta2);
        m.put("eps", eps);
        m.put("weight_decay", wd);
        m.put("amsgrad", amsgrad ? 1.0 : 0.0);
        return m;
    }
}
