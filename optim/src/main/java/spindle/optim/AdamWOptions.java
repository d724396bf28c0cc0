// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.Map;

/**
 * AdamW hyper-parameters as torch.optim.AdamW. defaults() are PyTorch's: lr 1e-3, betas (0.9, 0.999),
 * eps 1e-8, weight decay 1e-2 (decoupled: p *= 1 - lr * wd before the Adam update), amsgrad off.
 */
public record AdamWOptions(double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad)
        implements OptimizerOptions {

    public AdamWOptions {
        AdamOptions.validate("AdamW", lr, beta1, beta2, eps, weightDecay);
    }

    /** PyTorch's defaults, listed in the type's description. */
    public static AdamWOptions defaults() {
        return new AdamWOptions(1e-3, 0.9, 0.999, 1e-8, 1e-2, false);
    }

    /** A copy with learning rate {@code v}. */
    @Override
    public AdamWOptions withLr(double v) {
        return new AdamWOptions(v, beta1, beta2, eps, weightDecay, amsgrad);
    }

    /** A copy with the moment decay rates (beta1, beta2) = ({@code b1}, {@code b2}). */
    public AdamWOptions withBetas(double b1, double b2) {
        return new AdamWOptions(lr, b1, b2, eps, weightDecay, amsgrad);
    }

    /** A copy with eps {@code v}, added to sqrt(v_hat) in the denominator. */
    public AdamWOptions withEps(double v) {
        return new AdamWOptions(lr, beta1, beta2, v, weightDecay, amsgrad);
    }

    /** A copy with weight decay {@code v}. */
    public AdamWOptions withWeightDecay(double v) {
        return new AdamWOptions(lr, beta1, beta2, eps, v, amsgrad);
    }

    /** A copy with AMSGrad on or off (divide by the running maximum of v instead of v). */
    public AdamWOptions withAmsgrad(boolean v) {
        return new AdamWOptions(lr, beta1, beta2, eps, weightDecay, v);
    }

    @Override
    public AdamWOptions with(String name, double value) {
        return switch (name) {
            case "lr" -> withLr(value);
            case "beta1" -> withBetas(value, beta2);
            case "beta2" -> withBetas(beta1, value);
            case "eps" -> withEps(value);
            case "weight_decay" -> withWeightDecay(value);
            case "amsgrad" -> withAmsgrad(Check.flag(value, "AdamW", name));
            default -> throw Check.unknownOption("AdamW", name, hyperParameters().keySet());
        };
    }

    @Override
    public Map<String, Double> hyperParameters() {
        return AdamOptions.named(lr, beta1, beta2, eps, weightDecay, amsgrad);
    }

    /** The Adam part of the update: the same moments, with the decay already applied to p (so no L2 term). */
    AdamOptions adamPart() {
        return new AdamOptions(lr, beta1, beta2, eps, 0, amsgrad);
    }
}
