// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.GradMode;
import spindle.data.Batch;
import spindle.data.DataLoader;
import spindle.data.LoaderOptions;
import spindle.data.PromptDataset;
import spindle.data.PromptPair;
import spindle.data.tokenizer.Tokenizer;
import spindle.layers.models.CausalLm;
import spindle.layers.models.Generator;
import spindle.layers.models.SamplingOptions;

/**
 * What a fine-tune is judged by on prompt/response pairs: the loss on the response tokens (the objective the
 * training minimises, {@link LanguageModeling}, with the prompt masked), and the exact-match accuracy of greedy
 * answers. Both run in eval mode without the tape and leave the model's mode as it was.
 *
 * <pre>{@code
 * double loss = PromptEval.responseLoss(model, PromptDataset.readResource(EmbeddedData.QUIZ_TEST, tok, o), 32);
 * PromptEval.Accuracy acc = PromptEval.exactMatch(model, tok, PromptPairs.readResource(EmbeddedData.QUIZ_TEST, o), 24, "\n");
 * }</pre>
 */
public final class PromptEval {
    private PromptEval() {}

    /** One greedy answer: the text generated after the prompt, cut before the end marker, and whether it is accepted. */
    public record Answer(PromptPair pair, String text, boolean correct) {}

    /** The answers to a list of pairs. */
    public record Accuracy(List<Answer> answers) {
        public Accuracy {
            answers = List.copyOf(answers);
        }

        /** Answers accepted. */
        public int correct() {
            return (int) answers.stream().filter(Answer::correct).count();
        }

        /** Share of answers accepted, in [0, 1]; NaN for no answers. */
        public double fraction() {
            return answers.isEmpty() ? Double.NaN : (double) correct() / answers.size();
        }
    }

    /**
     * Mean cross entropy per counted target (the response tokens) over every row of {@code data}, in batches of
     * {@code batchSize}: each batch's mean weighted by its counted targets, so the result does not depend on the
     * batching.
     */
    public static double responseLoss(CausalLm model, PromptDataset data, int batchSize) {
        var loader = new DataLoader(data, LoaderOptions.of(batchSize));
        var objective = new LanguageModeling(model);
        double sum = 0;
        long count = 0;
        boolean wasTraining = model.isTraining();
        model.eval();
        try (GradMode.Scope off = GradMode.disable()) {
            for (int i = 0; i < loader.batchesPerEpoch(); i++) {
                Batch b = loader.next();
                long n = b.targets().neq(Batch.IGNORE_INDEX).castTo(DataType.INT64).sumNumber().longValue();
                if (n > 0) {
                    sum += objective.parts(b).crossEntropy().item() * n;
                    count += n;
                }
            }
        } finally {
            if (wasTraining) {
                model.train();
            }
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    /**
     * Greedy answers to each pair's prompt, at most {@code maxNewTokens} tokens, cut before the first {@code end}
     * (e.g. "\n"; generation stops there when it is one token); an answer is correct when, without surrounding white
     * space, it equals one of the pair's accepted answers.
     */
    public static Accuracy exactMatch(CausalLm model, Tokenizer tokenizer, List<PromptPair> pairs, int maxNewTokens,
                                      String end) {
        int[] endIds = end.isEmpty() ? new int[0] : tokenizer.encode(end);
        var greedy = SamplingOptions.greedy(maxNewTokens);
        if (endIds.length == 1) {
            greedy = greedy.withStopTokens(Set.of(endIds[0]));
        }
        List<Answer> answers = new ArrayList<>();
        for (PromptPair p : pairs) {
            int[] prompt = tokenizer.encode(p.prompt());
            int[] out = Generator.generate(model, prompt, greedy, notice -> { });
            String text = tokenizer.decode(Arrays.copyOfRange(out, prompt.length, out.length));
            int cut = end.isEmpty() ? -1 : text.indexOf(end);
            String answer = cut < 0 ? text : text.substring(0, cut);
            answers.add(new Answer(p, answer, p.accepts(answer)));
        }
        return new Accuracy(answers);
    }
}
