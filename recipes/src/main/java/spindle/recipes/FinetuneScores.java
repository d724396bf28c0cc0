// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import spindle.data.tokenizer.Tokenizer;
import spindle.layers.models.CausalLm;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.PromptEval;
import spindle.trainers.SharedExactMatch;
import spindle.trainers.mpi.ProcessGroup;

/**
 * What finetune reports before and after training: the held-out loss on the response tokens and the exact-match
 * accuracy of greedy answers on {@code eval.examples} pairs of each split.
 */
record FinetuneScores(double testLoss, PromptEval.Accuracy train, PromptEval.Accuracy test) {

    /** The scores of {@code model}; under an MPI job the ranks share the greedy answers out and all get every one. */
    static FinetuneScores measure(CausalLm model, Tokenizer tokenizer, FinetuneData data, RecipeConfig c,
                                  ProcessGroup group) {
        int n = c.integer("eval.examples");
        int tokens = c.integer("eval.max_new_tokens");
        double loss = PromptEval.responseLoss(model, data.test(), c.integer("data.batch"));
        var train = SharedExactMatch.of(model, tokenizer, FinetuneData.spread(data.trainPairs(), n), tokens,
            FinetuneData.RESPONSE_END, group);
        var test = SharedExactMatch.of(model, tokenizer, FinetuneData.spread(data.testPairs(), n), tokens,
            FinetuneData.RESPONSE_END, group);
        return new FinetuneScores(loss, train, test);
    }

    /** "held-out response loss 2.8123, exact match: train 3/100 (3.0%), held-out 0/100 (0.0%)". */
    String line() {
        return String.format(Locale.ROOT, "held-out response loss %.4f, exact match: train %s, held-out %s", testLoss,
            share(train), share(test));
    }

    private static String share(PromptEval.Accuracy a) {
        return String.format(Locale.ROOT, "%d/%d (%.1f%%)", a.correct(), a.answers().size(), 100 * a.fraction());
    }

    /** The first {@code show} held-out questions with the answer before and after, and a mark for exact matches. */
    static void printAnswers(PrintStream out, FinetuneScores before, FinetuneScores after, int show) {
        List<PromptEval.Answer> was = before.test().answers();
        List<PromptEval.Answer> now = after.test().answers();
        for (int i = 0; i < Math.min(show, now.size()); i++) {
            var pair = now.get(i).pair();
            out.printf("  %s  expected %s: %s -> %s%n", oneLine(pair.prompt()), pair.answers().get(0),
                shown(was.get(i)), shown(now.get(i)));
        }
    }

    private static String shown(PromptEval.Answer a) {
        return "\"" + oneLine(a.text()) + "\"" + (a.correct() ? " (exact)" : "");
    }

    private static String oneLine(String s) {
        return s.replace("\n", " ").strip();
    }
}
