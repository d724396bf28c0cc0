// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import spindle.data.DataFileException;
import spindle.data.TextFiles;

/**
 * The tokenizer a model directory brings: its {@code tokenizer.json} run by Hugging Face's tokenizers library (template
 * tokens such as Llama's BOS added on encode, as Hugging Face does), with the special tokens and chat template of
 * {@code tokenizer_config.json}; or Spindle's byte-level tokenizer when the directory has no tokenizer.json (the
 * models {@code spindle pretrain} writes). Close it to free the native tokenizer.
 *
 * @param tokenizer    encodes and decodes
 * @param bosToken     tokenizer_config.json's bos_token, if any
 * @param eosToken     tokenizer_config.json's eos_token, if any
 * @param padToken     tokenizer_config.json's pad_token, if any
 * @param chatTemplate tokenizer_config.json's chat_template (Jinja text, not rendered by Spindle), if any
 * @param stopTokens   ids that end a generation: the eos_token's and config.json's eos_token_id (one or a list)
 */
public record ModelTokenizer(Tokenizer tokenizer, Optional<String> bosToken, Optional<String> eosToken,
                             Optional<String> padToken, Optional<String> chatTemplate, Set<Integer> stopTokens)
    implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelTokenizer {
        stopTokens = Set.copyOf(stopTokens);
    }

    /**
     * The tokenizer of {@code dir}: tokenizer.json (+ tokenizer_config.json) when present, else byte-level. A file
     * that is not valid JSON, or an eos_token the tokenizer lacks, is a {@link DataFileException} naming the file.
     */
    public static ModelTokenizer forModelDir(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            return new ModelTokenizer(new ByteTokenizer(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Set.of());
        }
        HfTokenizer tokenizer = null;
        try {
            tokenizer = HfTokenizer.load(file);
            JsonNode config = json(dir.resolve("tokenizer_config.json"));
            Optional<String> eos = token(config, "eos_token");
            Set<Integer> stops = new LinkedHashSet<>();
            if (eos.isPresent()) {
                stops.add(idOf(tokenizer, eos.get(), dir.resolve("tokenizer_config.json")));
            }
            JsonNode ids = json(dir.resolve("config.json")).path("eos_token_id");
            (ids.isArray() ? ids : JSON.createArrayNode().add(ids)).forEach(id -> {
                if (id.canConvertToInt()) {
                    stops.add(id.intValue());
                }
            });
            return new ModelTokenizer(tokenizer, token(config, "bos_token"), eos, token(config, "pad_token"),
                chatTemplate(config), stops);
        } catch (IOException | RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();   // the native tokenizer is not freed by the garbage collector
            }
            throw e;
        }
    }

    /** True for the byte-level fallback (no tokenizer.json in the directory). */
    public boolean isByteLevel() {
        return tokenizer instanceof ByteTokenizer;
    }

    @Override
    public void close() {
        if (tokenizer instanceof HfTokenizer hf) {
            hf.close();
        }
    }

    private static JsonNode json(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(TextFiles.read(file));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new DataFileException(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                "not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** A special token as tokenizer_config.json writes it: a string, or an AddedToken object with "content". */
    private static Optional<String> token(JsonNode config, String key) {
        JsonNode t = config.path(key);
        JsonNode text = t.isObject() ? t.path("content") : t;
        return text.isTextual() ? Optional.of(text.textValue()) : Optional.empty();
    }

    /** chat_template: one template, or a list of named ones of which "default" is used. */
    private static Optional<String> chatTemplate(JsonNode config) {
        JsonNode t = config.path("chat_template");
        if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return Optional.of(named.path("template").asText());
                }
            }
            return Optional.empty();
        }
        return t.isTextual() ? Optional.of(t.textValue()) : Optional.empty();
    }

    private static int idOf(HfTokenizer tokenizer, String token, Path configFile) throws DataFileException {
        Integer id = tokenizer.specialTokens().get(token);
        if (id == null) {
            throw new DataFileException(configFile, 0, "eos_token '" + token + "' is not a special token of"
                + " tokenizer.json, whose special tokens are " + tokenizer.specialTokens().keySet());
        }
        return id;
    }
}
