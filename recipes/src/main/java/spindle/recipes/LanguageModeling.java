// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static spindle.autograd.ops.Elementwise.add;

import spindle.autograd.Tensor;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Shapes;
import spindle.data.Batch;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLmOutput;
import spindle.trainers.Objective;
import spindle.trainers.StepLoss;

/** The next-token objective: cross entropy over the vocabulary plus the model's MoE balance loss. */
final class LanguageModeling {
    private LanguageModeling() {}

    static Objective objective(CausalLm model) {
        return batch -> {
            Loss l = loss(model, batch);
            return StepLoss.of(l.total()).withBalanceLoss(l.balance());
        };
    }

    /** The parts of one batch's loss; {@code total} is the differentiated one. */
    record Loss(Tensor total, double crossEntropy, double balance) {}

    static Loss loss(CausalLm model, Batch batch) {
        CausalLmOutput out = model.forward(Tensor.of(batch.inputs()), null);
        long vocab = out.logits().shape()[2];
        Tensor ce = Losses.crossEntropy(Shapes.reshape(out.logits(), -1, vocab), Shapes.reshape(Tensor.of(batch.targets()), -1));
        double balance = out.balanceLoss().item();
        return new Loss(add(ce, out.balanceLoss()), ce.item(), balance);
    }
}
