// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.data.DataFileException;

/** A WordLevel tokenizer.json written here, loaded from the file through DJL's Hugging Face tokenizers. */
class HfTokenizerTest {
    private static final List<String> WORDS = List.of("[UNK]", "<|endoftext|>", "the", "white", "whale", "sea", ".");

    /** Minimal tokenizer.json: whitespace pre-tokenizer, word-level model, EOS appended by a template. */
    static Path writeTokenizerJson(Path dir) throws Exception {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        WORDS.forEach(w -> vocab.put(w, vocab.size()));
        Map<String, Object> eos = Map.of("id", "<|endoftext|>", "ids", List.of(1), "tokens", List.of("<|endoftext|>"));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", List.of(added(0, "[UNK]"), added(1, "<|endoftext|>")));
        root.put("normalizer", null);
        root.put("pre_tokenizer", Map.of("type", "Whitespace"));
        root.put("post_processor", Map.of("type", "TemplateProcessing",
            "single", List.of(Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
                Map.of("SpecialToken", Map.of("id", "<|endoftext|>", "type_id", 0))),
            "pair", List.of(Map.of("Sequence", Map.of("id", "A", "type_id", 0)),
                Map.of("Sequence", Map.of("id", "B", "type_id", 1))),
            "special_tokens", Map.of("<|endoftext|>", eos)));
        root.put("decoder", null);
        root.put("model", Map.of("type", "WordLevel", "vocab", vocab, "unk_token", "[UNK]"));
        Path file = dir.resolve("tokenizer.json");
        new ObjectMapper().writeValue(file.toFile(), root);
        return file;
    }

    private static Map<String, Object> added(int id, String content) {
        return Map.of("id", id, "content", content, "single_word", false, "lstrip", false, "rstrip", false,
            "normalized", false, "special", true);
    }

    @Test
    void encodesDecodesAndReportsTheVocabulary(@TempDir Path dir) throws Exception {
        try (HfTokenizer t = HfTokenizer.load(writeTokenizerJson(dir), HfTokenizer.SpecialTokens.OMIT)) {
            assertArrayEquals(new int[] {2, 3, 4, 6}, t.encode("the white whale."));
            assertArrayEquals(new int[] {2, 0, 5}, t.encode("the grey sea"), "unknown words map to [UNK]");
            assertEquals("the white whale", t.decode(new int[] {2, 3, 4}));
            assertEquals("the white whale", t.decode(new int[] {2, 3, 7, 4, 269}), "ids past the vocabulary are skipped");
            assertEquals(7, t.vocabSize());
            assertEquals(Map.of("[UNK]", 0, "<|endoftext|>", 1), t.specialTokens());
        }
    }

    @Test
    void addsTemplateTokensLikeHuggingFaceByDefault(@TempDir Path dir) throws Exception {
        try (HfTokenizer t = HfTokenizer.load(writeTokenizerJson(dir))) {
            assertArrayEquals(new int[] {2, 4, 1}, t.encode("the whale"));
        }
    }

    @Test
    void neverTruncatesLongInput(@TempDir Path dir) throws Exception {
        String text = "the white whale . ".repeat(400);   // 1,600 tokens, past DJL's default 512
        try (HfTokenizer t = HfTokenizer.load(writeTokenizerJson(dir), HfTokenizer.SpecialTokens.OMIT)) {
            assertEquals(1600, t.encode(text).length);
        }
    }

    @Test
    void badFilesNameTheFile(@TempDir Path dir) throws Exception {
        var e = assertThrows(DataFileException.class, () -> HfTokenizer.load(dir.resolve("missing.json")));
        assertTrue(e.getMessage().contains("missing.json: no such file"), e.getMessage());
        Files.writeString(dir.resolve("broken.json"), "{\n\"model\": [\n");
        e = assertThrows(DataFileException.class, () -> HfTokenizer.load(dir.resolve("broken.json")));
        assertTrue(e.getMessage().contains("broken.json:3: not valid JSON"), e.getMessage());
    }
}
