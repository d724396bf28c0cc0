// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.util.ArrayList;
import java.util.List;
import spindle.data.PromptPair;
import spindle.data.tokenizer.Tokenizer;
import spindle.layers.models.CausalLm;
import spindle.trainers.mpi.ProcessGroup;

/**
 * {@link PromptEval#exactMatch} with the greedy answers divided over the ranks of an MPI job: rank r answers pairs
 * r, r + N, r + 2N, ... and every rank receives all the answers, so each gets the whole result in 1/N of the time
 * (the ranks hold the same model, so the answers are the ones one process would give).
 */
public final class SharedExactMatch {
    private SharedExactMatch() {}

    public static PromptEval.Accuracy of(CausalLm model, Tokenizer tokenizer, List<PromptPair> pairs, int maxNewTokens,
                                         String end, ProcessGroup group) {
        if (group.size() == 1) {
            return PromptEval.exactMatch(model, tokenizer, pairs, maxNewTokens, end);
        }
        List<PromptPair> mine = new ArrayList<>();
        for (int i = group.rank(); i < pairs.size(); i += group.size()) {
            mine.add(pairs.get(i));
        }
        List<PromptEval.Answer> answered = PromptEval.exactMatch(model, tokenizer, mine, maxNewTokens, end).answers();
        String[] texts = new String[pairs.size()];
        for (int k = 0; k < answered.size(); k++) {
            texts[group.rank() + k * group.size()] = answered.get(k).text();
        }
        String[] all = group.shareByRank(texts);
        List<PromptEval.Answer> answers = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            answers.add(new PromptEval.Answer(pairs.get(i), all[i], pairs.get(i).accepts(all[i])));
        }
        return new PromptEval.Accuracy(answers);
    }
}
