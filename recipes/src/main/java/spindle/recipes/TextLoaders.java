// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import spindle.data.DataLoader;
import spindle.data.HfConfig;
import spindle.data.LoaderOptions;
import spindle.data.TextCorpus;
import spindle.data.TokenFile;
import spindle.recipes.config.RecipeConfig;
import spindle.trainers.mpi.ProcessGroup;

/**
 * A text recipe's loaders of {@code data.seq}-token windows in batches of {@code data.batch}: the training split
 * shuffled by {@code train.seed}, the validation split (null when {@code train.eval_every} is 0). A sequence the
 * model cannot place or a split too short for one batch is an error naming the keys, before training starts.
 */
record TextLoaders(DataLoader train, DataLoader val) {
    static TextLoaders of(RecipeConfig c, TextCorpus.Split split, HfConfig model) throws IOException {
        return of(c, split, model, ProcessGroup.single());
    }

    /**
     * As above for one rank of {@code group}: its training loader takes data.batch / ranks rows per batch, its shard
     * of each epoch's order (the ranks' batches together are the one-process batch); validation is the same on all.
     */
    static TextLoaders of(RecipeConfig c, TextCorpus.Split split, HfConfig model, ProcessGroup group) throws IOException {
        int seq = c.integer("data.seq");
        int batch = c.integer("data.batch");
        int rows = Ranks.rowsPerRank(batch, group);
        int maxPositions = model.integer("max_position_embeddings");
        if (seq > maxPositions) {
            throw new IllegalArgumentException("data.seq " + seq + " is more than the model's max_position_embeddings "
                + maxPositions + " (" + model.source() + "); lower data.seq to at most " + maxPositions);
        }
        TokenFile train = split.openTrain();
        requireOneBatch(train, "training split", seq, batch, "use a longer data.text");
        var trainLoader = new DataLoader(train.windows(seq), LoaderOptions.of(rows).shuffled(c.integer("train.seed")).dropLast()
            .shard(group.rank(), group.size()));
        if (c.integer("train.eval_every") == 0) {
            return new TextLoaders(trainLoader, null);
        }
        TokenFile val = split.openVal();
        requireOneBatch(val, "validation split (data.val_fraction=" + c.real("data.val_fraction") + ")", seq, batch,
            "raise data.val_fraction");
        return new TextLoaders(trainLoader, new DataLoader(val.windows(seq), LoaderOptions.of(batch).shuffled(1).dropLast()));
    }

    /** Windows do not overlap, so one batch of them takes batch * seq tokens plus the last window's next token. */
    private static void requireOneBatch(TokenFile tokens, String what, int seq, int batch, String remedy) {
        long needed = (long) batch * seq + 1;
        if (tokens.size() < needed) {
            throw new IllegalArgumentException(String.format("the %s of data.text has %,d tokens, too few for one batch"
                + " of data.batch=%d windows of data.seq=%d (%,d tokens): %s, or lower data.seq or data.batch",
                what, tokens.size(), batch, seq, needed, remedy));
        }
    }
}
