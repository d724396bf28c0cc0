// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import spindle.data.DataFileException;
import spindle.data.TextFiles;

/** Reading and writing BPE tokenizers: Spindle's one-file JSON, and GPT-2's encoder.json + vocab.bpe. */
final class BpeFiles {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FORMAT = "spindle-bpe";

    private BpeFiles() {
    }

    static void save(BpeTokenizer t, Path file) throws IOException {
        List<int[]> merges = new ArrayList<>();
        for (int r = 0; r < t.mergeCount(); r++) {
            merges.add(t.merge(r));
        }
        int[] byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteIds[b] = t.byteId(b);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("format", FORMAT);
        out.put("pattern", t.pattern());
        out.put("special_tokens", t.specialTokens());
        out.put("byte_ids", byteIds);
        out.put("merges", merges);
        JSON.writeValue(file.toFile(), out);
    }

    static BpeTokenizer load(Path file) throws IOException {
        JsonNode root = readJson(file);
        if (!FORMAT.equals(root.path("format").asText())) {
            throw new DataFileException(file, 0, "not a Spindle BPE file (\"format\" must be \"" + FORMAT
                + "\"); for GPT-2's files use BpeTokenizer.loadGpt2(encoder.json, vocab.bpe)");
        }
        int[] byteIds = ints(file, root, "byte_ids");
        JsonNode merges = root.path("merges");
        int n = merges.size();
        int[] left = new int[n];
        int[] right = new int[n];
        int[] result = new int[n];
        for (int r = 0; r < n; r++) {
            JsonNode m = merges.get(r);
            if (m.size() != 3 || !m.get(0).isInt() || !m.get(1).isInt() || !m.get(2).isInt()) {
                throw new DataFileException(file, 0, "merge " + r + " must be [left, right, result] ids, not " + m);
            }
            left[r] = m.get(0).asInt();
            right[r] = m.get(1).asInt();
            result[r] = m.get(2).asInt();
        }
        Map<String, Integer> special = new LinkedHashMap<>();
        root.path("special_tokens").fields().forEachRemaining(e -> special.put(e.getKey(), e.getValue().asInt()));
        if (!root.path("pattern").isTextual()) {
            throw new DataFileException(file, 0, "\"pattern\" must be a string");
        }
        try {
            return new BpeTokenizer(root.get("pattern").asText(), byteIds, left, right, result, special);
        } catch (IllegalArgumentException e) {
            throw new DataFileException(file, 0, e.getMessage());
        }
    }

    private static int[] ints(Path file, JsonNode root, String field) throws DataFileException {
        JsonNode a = root.path(field);
        if (!a.isArray() || a.size() != 256) {
            throw new DataFileException(file, 0, "\"" + field + "\" must be an array of 256 ids");
        }
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    static BpeTokenizer loadGpt2(Path encoderJson, Path vocabBpe) throws IOException {
        Map<String, Integer> encoder = readEncoder(encoderJson);
        int[] byteIds = new int[256];
        Set<Integer> reachable = new HashSet<>();
        for (int b = 0; b < 256; b++) {
            String s = ByteLevel.toChars(new byte[] {(byte) b});
            Integer id = encoder.get(s);
            if (id == null) {
                throw new DataFileException(encoderJson, 0, String.format("has no token for byte 0x%02X ('%s')", b, s));
            }
            byteIds[b] = id;
            reachable.add(id);
        }
        List<String> lines = TextFiles.lines(TextFiles.read(vocabBpe));
        List<int[]> merges = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            String[] parts = line.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new DataFileException(vocabBpe, i + 1, "expected two tokens separated by one space, got '" + line + "'");
            }
            int[] m = {known(encoder, parts[0], vocabBpe, i + 1), known(encoder, parts[1], vocabBpe, i + 1),
                known(encoder, parts[0] + parts[1], vocabBpe, i + 1)};
            merges.add(m);
            reachable.add(m[2]);
        }
        Map<String, Integer> special = new LinkedHashMap<>();
        encoder.forEach((s, id) -> {
            if (!reachable.contains(id)) {
                special.put(s, id);   // e.g. <|endoftext|>: no byte or merge makes it
            }
        });
        int[][] cols = columns(merges);
        try {
            return new BpeTokenizer(BpeTokenizer.GPT2_PATTERN, byteIds, cols[0], cols[1], cols[2], special);
        } catch (IllegalArgumentException e) {
            throw new DataFileException(vocabBpe, 0, e.getMessage());
        }
    }

    private static int known(Map<String, Integer> encoder, String token, Path vocabBpe, int line) throws DataFileException {
        Integer id = encoder.get(token);
        if (id == null) {
            throw new DataFileException(vocabBpe, line, "token '" + token + "' is not in encoder.json");
        }
        return id;
    }

    private static int[][] columns(List<int[]> merges) {
        int[][] cols = new int[3][merges.size()];
        for (int r = 0; r < merges.size(); r++) {
            for (int c = 0; c < 3; c++) {
                cols[c][r] = merges.get(r)[c];
            }
        }
        return cols;
    }

    private static Map<String, Integer> readEncoder(Path file) throws IOException {
        JsonNode root = readJson(file);
        if (!root.isObject()) {
            throw new DataFileException(file, 1, "expected a JSON object mapping token strings to ids");
        }
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isInt() || e.getValue().asInt() < 0) {
                throw new DataFileException(file, 0, "token '" + e.getKey() + "' has id " + e.getValue() + ", not an int >= 0");
            }
            out.put(e.getKey(), e.getValue().asInt());
        }
        return out;
    }

    static void saveGpt2(BpeTokenizer t, Path encoderJson, Path vocabBpe) throws IOException {
        Map<String, Integer> encoder = new LinkedHashMap<>();
        for (int id = 0; id < t.vocabSize(); id++) {
            byte[] bytes = t.bytesOrNull(id);
            String key = bytes != null ? ByteLevel.toChars(bytes) : nameOf(t, id);
            Integer other = key == null ? null : encoder.putIfAbsent(key, id);
            if (other != null) {
                throw new IllegalStateException("ids " + other + " and " + id + " are the same token '" + key
                    + "'; encoder.json cannot hold both");
            }
        }
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        for (int r = 0; r < t.mergeCount(); r++) {
            int[] m = t.merge(r);
            merges.append(ByteLevel.toChars(t.bytesOrNull(m[0]))).append(' ')
                .append(ByteLevel.toChars(t.bytesOrNull(m[1]))).append('\n');
        }
        JSON.writeValue(encoderJson.toFile(), encoder);
        Files.writeString(vocabBpe, merges, StandardCharsets.UTF_8);
    }

    private static String nameOf(BpeTokenizer t, int id) {
        for (Map.Entry<String, Integer> e : t.specialTokens().entrySet()) {
            if (e.getValue() == id) {
                return e.getKey();
            }
        }
        return null;   // an unused id: GPT-2's format simply has no entry for it
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            JsonNode root = JSON.readTree(TextFiles.read(file));
            if (root == null || root.isMissingNode()) {
                throw new DataFileException(file, 0, "is empty");
            }
            return root;
        } catch (JacksonException e) {
            throw new DataFileException(file, e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                "not valid JSON: " + e.getOriginalMessage());
        }
    }
}
