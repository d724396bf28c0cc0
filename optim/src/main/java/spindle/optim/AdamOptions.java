// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam hyper-parameters, as torch.optim.Adam ({@link #adam()}) or torch.optim.AdamW ({@link #adamW()}): the
 * two differ only in how weight decay enters the step ({@link Decay}) and in its default. Both start from
 * PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, amsgrad off; weight decay 0 for Adam, 1e-2 for AdamW.
 */
public record AdamOptions(double lr, double beta1, double beta2, double eps, double weightDecay, Decay decay,
        boolean amsgrad) implements OptimizerOptions {

    /** How weight decay wd enters the step; the mode also names the optimizer in errors and checkpoints. */
    public enum Decay {
        /** torch.optim.Adam: an L2 term wd * p added to the gradient. */
        L2("Adam"),
        /** torch.optim.AdamW: p *= 1 - lr * wd before the update (Loshchilov and Hutter). */
        DECOUPLED("AdamW");

        private final String kind;

        Decay(String kind) {
            this.kind = kind;
        }

        /** "Adam" or "AdamW", PyTorch's class name for this mode. */
        public String kind() {
            return kind;
        }
    }

    public AdamOptions {
        if (decay == null) {
            throw new IllegalArgumentException("Adam: decay must be L2 or DECOUPLED but is null");
        }
        String owner = decay.kind();
        Check.nonNegative(lr, owner, "lr");
        Check.inUnitRange(beta1, owner, "beta1");
        Check.inUnitRange(beta2, owner, "beta2");
        Check.nonNegative(eps, owner, "eps");
        Check.nonNegative(weightDecay, owner, "weight_decay");
    }

    /** torch.optim.Adam's defaults: L2 weight decay 0. */
    public static AdamOptions adam() {
        return new AdamOptions(1e-3, 0.9, 0.999, 1e-8, 0, Decay.L2, false);
    }

    /** torch.optim.AdamW's defaults: decoupled weight decay 1e-2. */
    public static AdamOptions adamW() {
        return new AdamOptions(1e-3, 0.9, 0.999, 1e-8, 1e-2, Decay.DECOUPLED, false);
    }

    /** A copy with learning rate {@code v}. */
    @Override
    public AdamOptions withLr(double v) {
        return new AdamOptions(v, beta1, beta2, eps, weightDecay, decay, amsgrad);
    }

    /** A copy with the moment decay rates (beta1, beta2) = ({@code b1}, {@code b2}). */
    public AdamOptions withBetas(double b1, double b2) {
        return new AdamOptions(lr, b1, b2, eps, weightDecay, decay, amsgrad);
    }

    /** A copy with eps {@code v}, added to sqrt(v_hat) in the denominator. */
    public AdamOptions withEps(double v) {
        return new AdamOptions(lr, beta1, beta2, v, weightDecay, decay, amsgrad);
    }

    /** A copy with weight decay {@code v}, applied as {@link #decay()} says. */
    public AdamOptions withWeightDecay(double v) {
        return new AdamOptions(lr, beta1, beta2, eps, v, decay, amsgrad);
    }

    /** A copy with AMSGrad on or off (divide by the running maximum of v instead of v). */
    public AdamOptions withAmsgrad(boolean v) {
        return new AdamOptions(lr, beta1, beta2, eps, weightDecay, decay, v);
    }

    /** By-name options; the decay mode is not one of them: it is the optimizer's kind, fixed at construction. */
    @Override
    public AdamOptions with(String name, double value) {
        return switch (name) {
            case "lr" -> withLr(value);
            case "beta1" -> withBetas(value, beta2);
            case "beta2" -> withBetas(beta1, value);
            case "eps" -> withEps(value);
            case "weight_decay" -> withWeightDecay(value);
            case "amsgrad" -> withAmsgrad(Check.flag(value, decay.kind(), name));
            default -> throw Check.unknownOption(decay.kind(), name, hyperParameters().keySet());
        };
    }

    @Override
    public Map<String, Double> hyperParameters() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("beta1", beta1);
        m.put("beta2", beta2);
        m.put("eps", eps);
        m.put("weight_decay", weightDecay);
        m.put("amsgrad", amsgrad ? 1.0 : 0.0);
        return m;
    }
}
