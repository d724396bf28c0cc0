// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.data.DataFileException;

/** A model directory's tokenizer: tokenizer.json with tokenizer_config.json's special tokens, or bytes. */
class ModelTokenizerTest {
    @TempDir
    Path dir;

    @Test
    void withoutTokenizerJsonItIsByteLevel() throws Exception {
        try (ModelTokenizer t = ModelTokenizer.forModelDir(dir)) {
            assertTrue(t.isByteLevel());
            assertEquals(256, t.tokenizer().vocabSize());
            assertEquals(Set.of(), t.stopTokens());
        }
    }

    @Test
    void readsSpecialTokensChatTemplateAndStopIds() throws Exception {
        HfTokenizerTest.writeTokenizerJson(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
            {"bos_token": null, "eos_token": {"content": "<|endoftext|>", "lstrip": false},
             "pad_token": "[UNK]", "chat_template": [{"name": "tool_use", "template": "t"},
             {"name": "default", "template": "{% for m in messages %}{{ m.content }}{% endfor %}"}]}""");
        Files.writeString(dir.resolve("config.json"), "{\"eos_token_id\": [1, 5]}");
        try (ModelTokenizer t = ModelTokenizer.forModelDir(dir)) {
            assertFalse(t.isByteLevel());
            assertEquals(Optional.empty(), t.bosToken());
            assertEquals(Optional.of("<|endoftext|>"), t.eosToken());
            assertEquals(Optional.of("[UNK]"), t.padToken());
            assertEquals(Optional.of("{% for m in messages %}{{ m.content }}{% endfor %}"), t.chatTemplate());
            assertEquals(Set.of(1, 5), t.stopTokens());
            assertArrayEquals(new int[] {2, 4, 1}, t.tokenizer().encode("the whale"), "template tokens are added");
        }
    }

    @Test
    void anEosTokenTheTokenizerLacksNamesTheFile() throws Exception {
        HfTokenizerTest.writeTokenizerJson(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        DataFileException e = assertThrows(DataFileException.class, () -> ModelTokenizer.forModelDir(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json") && e.getMessage().contains("eos_token '</s>'"),
            e.getMessage());
    }
}
