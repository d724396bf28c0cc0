// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

/**
 * How a {@link Trainer} runs. {@link #defaults()}: 1000 optimizer steps, no epoch limit, no gradient
 * accumulation, clipping at global norm 1.0 (nanoGPT's grad_clip), no evaluation.
 *
 * @param maxSteps optimizer steps to reach ("max_steps"); a resumed run counts the steps already done
 * @param maxEpochs stop once the loader starts this epoch, 0 for no limit ("max_epochs")
 * @param gradAccumulation micro-batches per optimizer step; the loss is divided by it ("gradient_accumulation_steps")
 * @param maxGradNorm clip the global gradient norm to this, 0 to only measure it ("max_grad_norm")
 * @param evalEvery evaluate every this many steps and at the end, 0 for never ("eval_every")
 * @param evalBatches batches of the evaluation loader per evaluation, from its start ("eval_batches")
 * @param replicas data-parallel replica threads that share each micro-batch, see {@link DataParallel} (1 = none);
 *     above 1 the objective and the anomaly detector run on several threads at once, so they must be thread-safe
 */
public record TrainerOptions(long maxSteps, int maxEpochs, int gradAccumulation, double maxGradNorm,
                             long evalEvery, int evalBatches, int replicas) {

    public TrainerOptions {
        require(maxSteps >= 1, "max_steps must be >= 1, got " + maxSteps);
        require(maxEpochs >= 0, "max_epochs must be >= 0 (0 = no limit), got " + maxEpochs);
        require(gradAccumulation >= 1, "gradient_accumulation_steps must be >= 1, got " + gradAccumulation);
        require(maxGradNorm >= 0 && Double.isFinite(maxGradNorm),
            "max_grad_norm must be finite and >= 0 (0 = no clipping), got " + maxGradNorm);
        require(evalEvery >= 0, "eval_every must be >= 0 (0 = never), got " + evalEvery);
        require(evalBatches >= 1, "eval_batches must be >= 1, got " + evalBatches);
        require(replicas >= 1, "replicas must be >= 1, got " + replicas);
    }

    /** The defaults listed in the type's description. */
    public static TrainerOptions defaults() {
        return new TrainerOptions(1000, 0, 1, 1.0, 0, 20, 1);
    }

    /** A copy that stops after {@code v} optimizer steps. */
    public TrainerOptions withMaxSteps(long v) {
        return new TrainerOptions(v, maxEpochs, gradAccumulation, maxGradNorm, evalEvery, evalBatches, replicas);
    }

    /** A copy that also stops when the loader reaches epoch {@code v} (0 = no limit). */
    public TrainerOptions withMaxEpochs(int v) {
        return new TrainerOptions(maxSteps, v, gradAccumulation, maxGradNorm, evalEvery, evalBatches, replicas);
    }

    /** A copy that accumulates gradients over {@code v} micro-batches per step. */
    public TrainerOptions withGradAccumulation(int v) {
        return new TrainerOptions(maxSteps, maxEpochs, v, maxGradNorm, evalEvery, evalBatches, replicas);
    }

    /** A copy that clips the global gradient norm to {@code v} (0 = measure only). */
    public TrainerOptions withMaxGradNorm(double v) {
        return new TrainerOptions(maxSteps, maxEpochs, gradAccumulation, v, evalEvery, evalBatches, replicas);
    }

    /** A copy that evaluates {@code batches} batches every {@code every} steps (0 = never). */
    public TrainerOptions withEval(long every, int batches) {
        return new TrainerOptions(maxSteps, maxEpochs, gradAccumulation, maxGradNorm, every, batches, replicas);
    }

    /** A copy that splits each micro-batch over {@code v} data-parallel replica threads (1 = none). */
    public TrainerOptions withReplicas(int v) {
        return new TrainerOptions(maxSteps, maxEpochs, gradAccumulation, maxGradNorm, evalEvery, evalBatches, v);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
