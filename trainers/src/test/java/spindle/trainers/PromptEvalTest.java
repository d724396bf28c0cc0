// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.data.HfConfig;
import spindle.data.PromptPair;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.models.Generator;
import spindle.layers.models.SamplingOptions;

/** Greedy answers of a model whose vocabulary is padded past its tokenizer's, as published models' are. */
class PromptEvalTest {
    private static final int PADDED_ROW = 269;

    @Test
    void answersWhenGreedyPicksARowTheTokenizerHasNoTokenFor() {
        CausalLm model = CausalLms.fromHfConfig(HfConfig.parse("{\"model_type\": \"llama\", \"vocab_size\": 300,"
            + " \"hidden_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 24,"
            + " \"max_position_embeddings\": 32}", "config.json"), DataType.FLOAT, 3);
        pickRowAlways(model, PADDED_ROW);
        int[] out = Generator.generate(model, new ByteTokenizer().encode("Q: 2+2?\nA:"), SamplingOptions.greedy(3));
        assertEquals(PADDED_ROW, out[out.length - 1], "greedy picks the padded row");

        PromptPair pair = new PromptPair("test", 1, "Q: 2+2?\nA:", " 4", List.of("4"));
        PromptEval.Accuracy accuracy = PromptEval.exactMatch(model, new ByteTokenizer(), List.of(pair), 3, "\n");
        assertEquals("", accuracy.answers().get(0).text(), "the padded rows decode to nothing");
        assertFalse(accuracy.answers().get(0).correct());
    }

    /**
     * Makes the last position's logits 0 but for {@code row}: the residual stream is the embedding alone (attention and
     * MLP outputs zeroed), whose channel 0 is 1 for every token; the final norm keeps only channel 0, which lm_head
     * reads into {@code row}.
     */
    private static void pickRowAlways(CausalLm model, int row) {
        Map<String, INDArray> state = model.stateDict();
        try (GradMode.Scope off = GradMode.disable()) {
            state.forEach((key, value) -> {
                if (key.endsWith("o_proj.weight") || key.endsWith("down_proj.weight") || key.equals("lm_head.weight")
                    || key.equals("model.norm.weight")) {
                    value.assign(0);
                }
            });
            state.get("model.embed_tokens.weight").getColumn(0).assign(1);
            state.get("model.norm.weight").putScalar(0, 1);
            state.get("lm_head.weight").putScalar(row, 0, 1);
        }
    }
}
