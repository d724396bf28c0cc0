// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * UTF-8 bytes as tokens: id b in [0, 256) is the byte b, so any text encodes and decodes exactly.
 * Special tokens, if any, take ids 256, 257, ... in the order given.
 */
public final class ByteTokenizer implements Tokenizer {
    private final Map<String, Integer> special;
    private final String[] specialById;

    /** 256 byte tokens and no special tokens. */
    public ByteTokenizer() {
        this(List.of());
    }

    /** 256 byte tokens followed by {@code specialTokens} (ids 256 + i). */
    public ByteTokenizer(List<String> specialTokens) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (String name : specialTokens) {
            if (m.putIfAbsent(name, 256 + m.size()) != null) {
                throw new IllegalArgumentException("special token '" + name + "' is listed twice");
            }
        }
        special = Collections.unmodifiableMap(m);
        specialById = specialTokens.toArray(new String[0]);
    }

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xff;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id >= 0 && id < 256) {
                out.write(id);
            } else if (id >= 256 && id < vocabSize()) {
                out.writeBytes(specialById[id - 256].getBytes(StandardCharsets.UTF_8));
            } else if (id < 0) {
                throw new IllegalArgumentException("id " + id + " at index " + i + " is negative");
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return 256 + specialById.length;
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return special;
    }
}
