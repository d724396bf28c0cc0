// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The files of a model directory that say how its text is tokenized and generated, as Hugging Face keeps them beside
 * the weights. A job that writes a new model directory from another (a merged adapter, a quantized model) carries
 * them over, so the new one encodes, decodes and stops generating as the old one did.
 */
public final class TokenizerFiles {
    /** tokenizer.json, tokenizer_config.json, special_tokens_map.json and generation_config.json. */
    public static final List<String> NAMES = List.of("tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "generation_config.json");

    private TokenizerFiles() {}

    /** Copies those of {@link #NAMES} that {@code from} has into {@code to} (replacing any there); returns their names. */
    public static List<String> copy(Path from, Path to) throws IOException {
        List<String> copied = new ArrayList<>();
        for (String name : NAMES) {
            if (Files.isRegularFile(from.resolve(name))) {
                Files.copy(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                copied.add(name);
            }
        }
        return copied;
    }
}
