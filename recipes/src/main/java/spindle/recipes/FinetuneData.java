// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import spindle.data.DataLoader;
import spindle.data.EmbeddedData;
import spindle.data.LoaderOptions;
import spindle.data.PromptDataset;
import spindle.data.PromptOptions;
import spindle.data.PromptPair;
import spindle.data.PromptPairs;
import spindle.data.tokenizer.Tokenizer;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.mpi.ProcessGroup;

/**
 * finetune's data: the prompt/response pairs of {@code data.train} and {@code data.test} (the embedded quiz's two
 * splits by default, or JSONL files), tokenized with the prompt masked and {@link #RESPONSE_END} closing each
 * response (a byte-level model has no end-of-sequence token, so the newline is where an answer stops).
 */
record FinetuneData(List<PromptPair> trainPairs, List<PromptPair> testPairs, PromptDataset train, PromptDataset test) {
    static final String QUIZ = "quiz";
    static final String RESPONSE_END = "\n";

    static FinetuneData load(RecipeConfig c, Tokenizer tokenizer, int maxPositions) throws IOException {
        int seq = c.integer("data.seq");
        if (seq > maxPositions) {
            throw new IllegalArgumentException("data.seq " + seq + " is more than the base model's"
                + " max_position_embeddings " + maxPositions + "; lower data.seq to at most " + maxPositions);
        }
        PromptOptions o = PromptOptions.of(seq).withFields(c.string("data.prompt_field"), c.string("data.response_field"))
            .withResponseEnd(RESPONSE_END);
        List<PromptPair> train = pairs(c, "data.train", EmbeddedData.QUIZ_TRAIN, o);
        List<PromptPair> test = pairs(c, "data.test", EmbeddedData.QUIZ_TEST, o);
        return new FinetuneData(train, test, PromptDataset.of(train, tokenizer, o), PromptDataset.of(test, tokenizer, o));
    }

    private static List<PromptPair> pairs(RecipeConfig c, String key, String quiz, PromptOptions o) throws IOException {
        String v = c.string(key);
        if (v.equals(QUIZ)) {
            return PromptPairs.readResource(quiz, o);
        }
        if (!Files.isRegularFile(Path.of(v))) {
            throw new IllegalArgumentException(key + " '" + v + "' is neither '" + QUIZ + "' nor an existing JSONL file");
        }
        return PromptPairs.read(Path.of(v), o);
    }

    /**
     * Shuffled by train.seed; batches of data.batch, the last smaller one dropped when there are several. Under an
     * MPI job this rank's data.batch / N rows of each batch (its shard of the epoch's order).
     */
    DataLoader trainLoader(RecipeConfig c, ProcessGroup group) {
        int batch = c.integer("data.batch");
        if (train.size() < batch) {
            throw new IllegalArgumentException("data.train has " + train.size() + " examples, fewer than one batch of"
                + " data.batch=" + batch + "; lower data.batch");
        }
        return new DataLoader(train, LoaderOptions.of(Ranks.rowsPerRank(batch, group)).shuffled(c.integer("train.seed"))
            .dropLast().shard(group.rank(), group.size()));
    }

    /** The held-out rows in a fixed order for the trainer's periodic eval, or null when train.eval_every is 0. */
    DataLoader testLoader(RecipeConfig c) {
        return c.integer("train.eval_every") == 0 ? null : new DataLoader(test, LoaderOptions.of(c.integer("data.batch")));
    }

    /** {@code n} pairs spread evenly over the list (all when n is 0 or at least the size): the ones scored for accuracy. */
    static List<PromptPair> spread(List<PromptPair> pairs, int n) {
        if (n == 0 || n >= pairs.size()) {
            return pairs;
        }
        List<PromptPair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(pairs.get((int) ((long) i * pairs.size() / n)));
        }
        return out;
    }
}
