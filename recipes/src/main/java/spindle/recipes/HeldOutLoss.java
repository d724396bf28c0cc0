// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import spindle.autograd.GradMode;
import spindle.data.DataLoader;
import spindle.data.LoaderOptions;
import spindle.data.TokenFile;
import spindle.layers.models.CausalLm;
import spindle.trainers.LanguageModeling;

/**
 * The mean next-token cross entropy of a model on the first batches of the held-out split, in order, so that
 * every model a recipe compares sees the same windows.
 */
final class HeldOutLoss {
    private final TokenFile val;
    private final int seq;
    private final int batch;
    private final int batches;

    /** Up to {@code batches} batches of {@code batch} windows of {@code seq} tokens; fails when there is none. */
    HeldOutLoss(TokenFile val, int seq, int batch, int batches) {
        this.val = val;
        this.seq = seq;
        this.batch = batch;
        this.batches = Math.min(batches, loader().batchesPerEpoch());
        if (this.batches == 0) {
            throw new IllegalArgumentException("the held-out split has fewer than data.batch=" + batch + " windows of"
                + " data.seq=" + seq + " tokens: raise data.val_fraction or lower data.batch");
        }
    }

    double of(CausalLm model) {
        DataLoader loader = loader();
        var objective = new LanguageModeling(model);
        double sum = 0;
        model.eval();
        try (GradMode.Scope off = GradMode.disable()) {
            for (int i = 0; i < batches; i++) {
                sum += objective.parts(loader.next()).crossEntropy().item();
            }
        } finally {
            model.train();
        }
        return sum / batches;
    }

    int batches() {
        return batches;
    }

    private DataLoader loader() {
        return new DataLoader(val.windows(seq), LoaderOptions.of(batch).dropLast());
    }
}
