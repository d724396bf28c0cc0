// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Text to token ids and back. {@link #encode} treats its input as plain text (a literal
 * {@code <|endoftext|>} in user data stays text, as tiktoken's {@code encode_ordinary});
 * {@link #encodeWithSpecial} also turns the exact strings of special tokens into their ids.
 */
public interface Tokenizer {

    /** Token ids of {@code text}, special-token strings included as ordinary text. */
    int[] encode(String text);

    /**
     * The text of {@code ids}; bytes that do not form valid UTF-8 become U+FFFD. An id at or past {@link #vocabSize()}
     * decodes to nothing, as Hugging Face's tokenizers skip ids they have no token for: published models pad their
     * vocabulary past the tokenizer's (to a multiple of 64 or 128), and sampling may pick such a row. A negative
     * id is an error.
     */
    String decode(int[] ids);

    /** Size of the id space: every id is in [0, vocabSize), special tokens included. */
    int vocabSize();

    /** Special tokens by name (e.g. {@code <|endoftext|>}), unmodifiable. */
    Map<String, Integer> specialTokens();

    /** The id of special token {@code name}; an error listing the known ones when there is none. */
    default int specialToken(String name) {
        Integer id = specialTokens().get(name);
        if (id == null) {
            throw new IllegalArgumentException("this tokenizer has no special token '" + name
                + "'; its special tokens are " + specialTokens().keySet());
        }
        return id;
    }

    /** Like {@link #encode}, but each exact occurrence of a special token's name becomes its id. */
    default int[] encodeWithSpecial(String text) {
        if (specialTokens().isEmpty()) {
            return encode(text);
        }
        List<String> names = new ArrayList<>(specialTokens().keySet());
        names.sort(Comparator.comparingInt(String::length).reversed());   // longest match wins at a position
        List<int[]> parts = new ArrayList<>();
        int start = 0;
        int pos = 0;
        while (pos < text.length()) {
            String hit = null;
            for (String n : names) {
                if (!n.isEmpty() && text.startsWith(n, pos)) {
                    hit = n;
                    break;
                }
            }
            if (hit == null) {
                pos++;
                continue;
            }
            parts.add(encode(text.substring(start, pos)));
            parts.add(new int[] {specialTokens().get(hit)});
            pos += hit.length();
            start = pos;
        }
        parts.add(encode(text.substring(start)));
        return parts.stream().flatMapToInt(Arrays::stream).toArray();
    }
}
