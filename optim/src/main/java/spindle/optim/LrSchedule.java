// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

/**
 * A learning-rate multiplier by optimizer step, as the lambda of PyTorch's LambdaLR: before step
 * {@code s} (0 = the first optimizer step) every group's lr is set to its initial lr times
 * {@code factor(s)}. So a warmup starts at factor 0, as torchtune's and Hugging Face's schedules do.
 *
 * <p>Use: {@code schedule.applyTo(optimizer, step); optimizer.step();} for step = 0, 1, 2, ...
 */
@FunctionalInterface
public interface LrSchedule {

    /** The multiplier of each group's initial lr at optimizer step {@code step} (0-based). */
    double factor(long step);

    /** Sets the lr of every group of {@code optimizer} to initialLr * factor(step); call it before step(). */
    default void applyTo(Optimizer optimizer, long step) {
        double f = factor(step);
        for (int g = 0; g < optimizer.groupCount(); g++) {
            optimizer.setLr(g, optimizer.initialLr(g) * f);
        }
    }

    /** This schedule for {@code steps} steps, then {@code next}, which counts its own steps from 0. */
    default LrSchedule then(long steps, LrSchedule next) {
        Check.nonNegative(steps, "LrSchedule.then", "steps");
        return s -> s < steps ? factor(s) : next.factor(s - steps);
    }

    /** Factor 1 at every step. */
    static LrSchedule constant() {
        return s -> 1.0;
    }

    /**
     * s / warmupSteps for s < warmupSteps, then 1: Hugging Face's get_constant_schedule_with_warmup (the first
     * step has lr 0).
     */
    static LrSchedule linearWarmup(long warmupSteps) {
        Check.nonNegative(warmupSteps, "LrSchedule.linearWarmup", "warmupSteps");
        return s -> s < warmupSteps ? (double) s / Math.max(1, warmupSteps) : 1.0;
    }

    /**
     * Linear warmup, then a half cosine from 1 down to {@code minLrRatio} at {@code totalSteps}: with
     * p = (s - warmup) / max(1, total - warmup), factor = 0.5 * (1 + cos(pi p)) * (1 - r) + r. With r = 0 this
     * is torchtune's get_cosine_schedule_with_warmup (num_cycles 0.5); like it, steps past the total follow
     * the cosine back up.
     */
    static LrSchedule warmupCosine(long warmupSteps, long totalSteps, double minLrRatio) {
        String owner = "LrSchedule.warmupCosine";
        Check.nonNegative(warmupSteps, owner, "warmupSteps");
        Check.inClosedUnitRange(minLrRatio, owner, "minLrRatio");
        if (totalSteps < warmupSteps) {
            throw new IllegalArgumentException(owner + ": totalSteps (" + totalSteps
                + ") must be >= warmupSteps (" + warmupSteps + ")");
        }
        return s -> {
            if (s < warmupSteps) {
                return (double) s / Math.max(1, warmupSteps);
            }
            double progress = (double) (s - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
            double cosine = 0.5 * (1.0 + Math.cos(Math.PI * progress));
            return Math.max(0.0, cosine * (1 - minLrRatio) + minLrRatio);
        };
    }

    /**
     * From 1 down to {@code endRatio} linearly over {@code steps} steps, then constant: PyTorch's
     * LinearLR(start_factor=1, end_factor=endRatio, total_iters=steps), 1 + (r - 1) * min(s, steps) / steps.
     */
    static LrSchedule linearDecay(long steps, double endRatio) {
        Check.positive(steps, "LrSchedule.linearDecay", "steps");
        Check.inClosedUnitRange(endRatio, "LrSchedule.linearDecay", "endRatio");
        return s -> 1 + (endRatio - 1) * Math.min(s, steps) / steps;
    }

    /** gamma^floor(s / stepSize): PyTorch's StepLR, e.g. gamma 0.1 every 30 steps. */
    static LrSchedule stepDecay(long stepSize, double gamma) {
        Check.positive(stepSize, "LrSchedule.stepDecay", "stepSize");
        Check.positive(gamma, "LrSchedule.stepDecay", "gamma");
        return s -> Math.pow(gamma, Math.floorDiv(s, stepSize));
    }
}
