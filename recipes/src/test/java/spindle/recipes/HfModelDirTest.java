// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * A Hugging Face model directory (sharded weights, tokenizer.json, tokenizer_config.json) through generate, eval and
 * inspect: the model's 10-token vocabulary could not hold byte-level ids, and generation stops at the eos_token.
 */
class HfModelDirTest {
    // "</s>" is id 0: a model whose logits are all equal picks it greedily
    private static final List<String> WORDS = List.of("</s>", "<s>", "[UNK]", "call", "me", "ishmael", "the", "whale",
        "sea", ".");
    private static final String CONFIG = "{\"model_type\": \"llama\", \"vocab_size\": 10, \"hidden_size\": 16,"
        + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        + " \"intermediate_size\": 24, \"max_position_embeddings\": 64, \"torch_dtype\": \"bfloat16\"}";

    @TempDir
    Path dir;

    @Test
    void generateEncodesWithTheTokenizerAndStopsAtItsEosToken() throws Exception {
        writeModelDir(dir, true);
        CommandRun run = CommandRun.of("generate", "--model-dir", dir.toString(), "--prompt", "call me ishmael",
            "--max-new-tokens", "5", "--temperature", "0");
        assertEquals(0, run.exit(), run.toString());
        // BOS added by tokenizer.json's template; one new token, the eos_token, ends the generation
        assertEquals("<s> call me ishmael </s>", run.out().strip());
    }

    @Test
    void evalCountsLossPerTokenOfTheTokenizer() throws Exception {
        writeModelDir(dir, false);
        Path text = Files.writeString(dir.resolve("text.txt"), "call me ishmael . the whale . the sea . ".repeat(100));
        CommandRun run = CommandRun.of("eval", "--model-dir", dir.toString(), "--text", text.toString(), "--split",
            "train", "--seq", "8", "--batches", "2");
        assertEquals(0, run.exit(), run.toString());
        assertTrue(run.out().startsWith("{\"split\": \"train\", \"batches\": 2, \"loss\": "), run.out());
    }

    @Test
    void inspectListsShardsDtypeKindsKeysAndTokenizer() throws Exception {
        writeModelDir(dir, false);
        String config = CONFIG.replace("}", ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}, \"my_key\": 1}");
        Files.writeString(dir.resolve("config.json"), config);
        CommandRun run = CommandRun.of("inspect", "--model-dir", dir.toString());
        assertEquals(0, run.exit(), run.toString());
        String out = run.out();
        for (String line : new String[] {"model_type: llama", "weights: model-00001-of-000", "dtype: F32 ",
            "q_proj.weight                    256", "config keys ignored on purpose: [torch_dtype]",
            "config keys not known to Spindle (not read): [my_key]",
            "supported: no: rope_scaling.rope_type \"yarn\" is not supported",
            "tokenizer: tokenizer.json, 10 ids, eos </s>, stop ids [0], chat template yes"}) {
            assertTrue(out.contains(line), "expected '" + line + "' in:\n" + out);
        }
    }

    /** A random model (final norm zero when {@code flat}: equal logits), sharded, with tokenizer files. */
    static void writeModelDir(Path dir, boolean flat) throws Exception {
        CausalLm model = CausalLms.fromHfConfig(HfConfig.parse(CONFIG, "test config"), DataType.FLOAT, 3);
        if (flat) {
            try (var off = spindle.autograd.GradMode.disable()) {
                model.model().norm().weight().mutate(w -> w.assign(0));
            }
        }
        Files.writeString(dir.resolve("config.json"), CONFIG);
        StateFiles.saveModel(model, dir, 4000);
        ObjectMapper json = new ObjectMapper();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        WORDS.forEach(w -> vocab.put(w, vocab.size()));
        Map<String, Object> bos = Map.of("id", "<s>", "ids", List.of(1), "tokens", List.of("<s>"));
        Map<String, Object> tokenizer = new LinkedHashMap<>();
        tokenizer.put("version", "1.0");
        tokenizer.put("added_tokens", List.of(special(0, "</s>"), special(1, "<s>")));
        tokenizer.put("pre_tokenizer", Map.of("type", "Whitespace"));
        tokenizer.put("post_processor", Map.of("type", "TemplateProcessing",
            "single", List.of(Map.of("SpecialToken", Map.of("id", "<s>", "type_id", 0)),
                Map.of("Sequence", Map.of("id", "A", "type_id", 0))),
            "pair", List.of(Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
                Map.of("Sequence", Map.of("id", "B", "type_id", 1))),
            "special_tokens", Map.of("<s>", bos)));
        tokenizer.put("model", Map.of("type", "WordLevel", "vocab", vocab, "unk_token", "[UNK]"));
        json.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizer);
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), Map.of("bos_token", "<s>",
            "eos_token", Map.of("content", "</s>", "special", true), "chat_template", "{{ messages }}"));
    }

    private static Map<String, Object> special(int id, String content) {
        return Map.of("id", id, "content", content, "single_word", false, "lstrip", false, "rstrip", false,
            "normalized", false, "special", true);
    }
}
