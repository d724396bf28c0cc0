// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import spindle.data.DataFileException;
import spindle.data.TextFiles;

/**
 * A Hugging Face {@code tokenizer.json} run by the Rust {@code tokenizers} library through DJL (the native
 * library ships inside DJL's jar). Always loaded from a local file, never from the Hub, and with truncation
 * and padding off, so an encoding is never cut at DJL's default 512 tokens. As in Hugging Face,
 * {@link #encode} also recognises the tokenizer's added tokens in the text.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    /** Whether encode adds the tokenizer's template tokens (e.g. Llama's BOS), as HF's {@code add_special_tokens}. */
    public enum SpecialTokens { ADD, OMIT }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final boolean addSpecial;
    private final int vocabSize;
    private final Map<String, Integer> special;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, boolean addSpecial, int vocabSize, Map<String, Integer> special) {
        this.tokenizer = tokenizer;
        this.addSpecial = addSpecial;
        this.vocabSize = vocabSize;
        this.special = special;
    }

    /** Loads {@code tokenizer.json} and adds template tokens on encode (Hugging Face's default). */
    public static HfTokenizer load(Path tokenizerJson) throws IOException {
        return load(tokenizerJson, SpecialTokens.ADD);
    }

    /** Loads {@code tokenizer.json} (a file, not a directory or Hub name); errors name the file. */
    public static HfTokenizer load(Path tokenizerJson, SpecialTokens mode) throws IOException {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new DataFileException(tokenizerJson, 0, "no such file (give the path of a tokenizer.json file)");
        }
        JsonNode root = readJson(tokenizerJson);
        int maxId = maxModelId(root.path("model"));
        Map<String, Integer> special = new LinkedHashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt();
            maxId = Math.max(maxId, id);
            if (t.path("special").asBoolean()) {
                special.put(t.path("content").asText(), id);
            }
        }
        Map<String, String> options = Map.of(
            "addSpecialTokens", Boolean.toString(mode == SpecialTokens.ADD),
            "truncation", "false",
            "padding", "false");
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(tokenizerJson, options);
        } catch (RuntimeException e) {
            throw new DataFileException(tokenizerJson, 0, "the tokenizers library rejected it: " + e.getMessage());
        }
        return new HfTokenizer(hf, mode == SpecialTokens.ADD, maxId + 1, Collections.unmodifiableMap(special));
    }

    /** Highest id of the model's vocabulary: an object token-to-id (BPE, WordPiece, WordLevel) or Unigram's list. */
    private static int maxModelId(JsonNode model) {
        JsonNode vocab = model.path("vocab");
        if (vocab.isArray()) {
            return vocab.size() - 1;
        }
        int max = -1;
        for (JsonNode id : vocab) {
            max = Math.max(max, id.asInt());
        }
        return max;
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            return JSON.readTree(TextFiles.read(file));
        } catch (JacksonException e) {
            throw new DataFileException(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                "not valid JSON: " + e.getOriginalMessage());
        }
    }

    @Override
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, addSpecial, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Same as {@link #encode}: the Hugging Face tokenizer always recognises its added tokens. */
    @Override
    public int[] encodeWithSpecial(String text) {
        return encode(text);
    }

    /**
     * The text of {@code ids}, special tokens kept (Hugging Face's {@code skip_special_tokens=False}); ids past the
     * vocabulary are skipped (see {@link Tokenizer#decode}).
     */
    @Override
    public String decode(int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0) {
                throw new IllegalArgumentException("id " + ids[i] + " at index " + i + " is negative");
            }
        }
        return tokenizer.decode(Arrays.stream(ids).filter(id -> id < vocabSize).asLongStream().toArray(), false);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return special;
    }

    /** Frees the native tokenizer. */
    @Override
    public void close() {
        tokenizer.close();
    }
}
