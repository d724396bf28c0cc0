// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import spindle.data.DataFileException;
import spindle.data.TextFiles;

/**
 * One token per Unicode code point of a fixed alphabet (nanoGPT's {@code shakespeare_char}): id i is the
 * i-th character of {@link #alphabet()}, special tokens follow. A character outside the alphabet is an
 * {@link UnknownCharacterException}, never a silent {@code <unk>}.
 */
public final class CharTokenizer implements Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FORMAT = "spindle-char";

    private final int[] codePoints;
    private final Map<Integer, Integer> idOf = new HashMap<>();
    private final List<String> specialNames;
    private final Map<String, Integer> special;

    /** Ids 0..n-1 for the distinct code points of {@code alphabet} in order, then {@code specialTokens}. */
    public CharTokenizer(String alphabet, List<String> specialTokens) {
        codePoints = alphabet.codePoints().toArray();
        for (int cp : codePoints) {
            if (idOf.putIfAbsent(cp, idOf.size()) != null) {
                throw new IllegalArgumentException(String.format("alphabet lists U+%04X twice", cp));
            }
        }
        Map<String, Integer> m = new LinkedHashMap<>();
        for (String name : specialTokens) {
            if (m.putIfAbsent(name, codePoints.length + m.size()) != null) {
                throw new IllegalArgumentException("special token '" + name + "' is listed twice");
            }
        }
        specialNames = List.copyOf(specialTokens);
        special = Collections.unmodifiableMap(m);
    }

    /** The sorted distinct code points of {@code corpus} as the alphabet, then {@code specialTokens}. */
    public static CharTokenizer fit(String corpus, List<String> specialTokens) {
        TreeSet<Integer> cps = new TreeSet<>();
        corpus.codePoints().forEach(cps::add);
        StringBuilder sb = new StringBuilder();
        cps.forEach(sb::appendCodePoint);
        return new CharTokenizer(sb.toString(), specialTokens);
    }

    /** The characters in id order. */
    public String alphabet() {
        return new String(codePoints, 0, codePoints.length);
    }

    @Override
    public int[] encode(String text) {
        int[] ids = new int[text.codePointCount(0, text.length())];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            Integer id = idOf.get(cp);
            if (id == null) {
                throw new UnknownCharacterException(i, cp, vocabSize());
            }
            ids[n++] = id;
            i += Character.charCount(cp);
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id >= 0 && id < codePoints.length) {
                sb.appendCodePoint(codePoints[id]);
            } else if (id >= codePoints.length && id < vocabSize()) {
                sb.append(specialNames.get(id - codePoints.length));
            } else if (id < 0) {
                throw new IllegalArgumentException("id " + id + " at index " + i + " is negative");
            }
        }
        return sb.toString();
    }

    @Override
    public int vocabSize() {
        return codePoints.length + specialNames.size();
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return special;
    }

    /** Writes {@code {"format": "spindle-char", "alphabet": ..., "special_tokens": [...]}}. */
    public void save(Path file) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("format", FORMAT);
        out.put("alphabet", alphabet());
        out.put("special_tokens", specialNames);
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), out);
    }

    /** Reads a file written by {@link #save}; errors name the file and what is missing. */
    public static CharTokenizer load(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(TextFiles.read(file));
        } catch (JacksonException e) {
            throw new DataFileException(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                "not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new DataFileException(file, 0, "not a character tokenizer file (\"format\" must be \"" + FORMAT + "\")");
        }
        JsonNode alphabet = root.path("alphabet");
        if (!alphabet.isTextual()) {
            throw new DataFileException(file, 0, "\"alphabet\" must be a string");
        }
        List<String> specials = new ArrayList<>();
        root.path("special_tokens").forEach(n -> specials.add(n.asText()));
        try {
            return new CharTokenizer(alphabet.asText(), specials);
        } catch (IllegalArgumentException e) {
            throw new DataFileException(file, 0, e.getMessage());
        }
    }
}
