// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static spindle.autograd.ops.Elementwise.add;

import java.util.Objects;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Shapes;
import spindle.data.Batch;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLmOutput;

/**
 * The next-token objective of a causal LM, the one every job uses (pretrain, eval, parity, bench, finetune):
 * the mean cross entropy of the logits against the batch's targets over the targets not equal to the ignore
 * index, plus the model's MoE balance loss (zero for a dense model). A prompt-masked batch (finetune) sets its
 * prompt and padding targets to {@link Batch#IGNORE_INDEX}, PyTorch's ignore_index, and takes no loss there.
 *
 * <pre>{@code
 * var trainer = new Trainer(model, optimizer, schedule, new LanguageModeling(model), options);
 * double crossEntropy = new LanguageModeling(model).parts(batch).crossEntropy().item();
 * }</pre>
 */
public final class LanguageModeling implements Objective {
    private final CausalLm model;
    private final long ignoreIndex;

    /** The objective of {@code model} that skips targets equal to {@link Batch#IGNORE_INDEX} (-100). */
    public LanguageModeling(CausalLm model) {
        this(model, Batch.IGNORE_INDEX);
    }

    /** The objective of {@code model} that skips targets equal to {@code ignoreIndex}. */
    public LanguageModeling(CausalLm model, long ignoreIndex) {
        this.model = Objects.requireNonNull(model, "model");
        this.ignoreIndex = ignoreIndex;
    }

    /** The two terms of one batch's loss, on the tape; {@link #total()} is the one to back-propagate. */
    public record Parts(Tensor crossEntropy, Tensor balanceLoss) {
        /** Cross entropy plus balance loss. */
        public Tensor total() {
            return add(crossEntropy, balanceLoss);
        }
    }

    /** Forward of the batch's inputs [B, T] and the loss terms against its targets [B, T]. */
    public Parts parts(Batch batch) {
        CausalLmOutput out = model.forward(Tensor.of(batch.inputs()), null);
        long vocab = out.logits().shape()[2];
        Tensor ce = Losses.crossEntropy(Shapes.reshape(out.logits(), -1, vocab),
            Shapes.reshape(Tensor.of(batch.targets()), -1), ignoreIndex, Losses.Reduction.MEAN);
        return new Parts(ce, out.balanceLoss());
    }

    /** The total loss, logging the balance loss under {@link StepLoss#BALANCE_LOSS}. */
    @Override
    public StepLoss loss(Batch batch) {
        Parts p = parts(batch);
        double balance = p.balanceLoss().item();
        return StepLoss.of(p.total()).withBalanceLoss(balance);
    }
}
