// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads prompt/response pairs from JSONL, one JSON object per line (blank lines are skipped), with the fields
 * of {@link PromptOptions}; an optional "answers" list of strings holds accepted variants of the answer. A
 * malformed line or a missing field is a {@link DataFileException} naming the file and the line.
 */
public final class PromptPairs {
    /** The JSON field that lists accepted answers (the embedded quiz has it). */
    public static final String ANSWERS_FIELD = "answers";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PromptPairs() {}

    /** The pairs of a UTF-8 JSONL file. */
    public static List<PromptPair> read(Path jsonl, PromptOptions options) throws IOException {
        return parse(jsonl.toString(), TextFiles.read(jsonl), options);
    }

    /** The pairs of an embedded JSONL resource such as {@link EmbeddedData#QUIZ_TRAIN}. */
    public static List<PromptPair> readResource(String resource, PromptOptions options) throws IOException {
        return parse(resource, TextFiles.resource(resource), options);
    }

    /** The pairs of JSONL text that came from {@code source}; at least one, or an error. */
    public static List<PromptPair> parse(String source, String jsonl, PromptOptions options) throws DataFileException {
        List<PromptPair> pairs = new ArrayList<>();
        List<String> lines = TextFiles.lines(jsonl);
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                pairs.add(pair(source, i + 1, lines.get(i), options));
            }
        }
        if (pairs.isEmpty()) {
            throw new DataFileException(source, 0, "has no examples" + (jsonl.isBlank() ? " (the file is empty)" : ""));
        }
        return pairs;
    }

    private static PromptPair pair(String source, int line, String text, PromptOptions o) throws DataFileException {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JacksonException e) {
            throw new DataFileException(source, line, "not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new DataFileException(source, line, "expected a JSON object with \"" + o.promptField() + "\" and \""
                + o.responseField() + "\", got " + abbreviate(text));
        }
        String prompt = field(source, line, node, o.promptField());
        String response = field(source, line, node, o.responseField());
        return new PromptPair(source, line, prompt, response, answers(source, line, node, response));
    }

    private static List<String> answers(String source, int line, JsonNode node, String response) throws DataFileException {
        JsonNode list = node.get(ANSWERS_FIELD);
        if (list == null) {
            return List.of(response.strip());
        }
        if (!list.isArray() || list.isEmpty()) {
            throw new DataFileException(source, line, "\"" + ANSWERS_FIELD + "\" must be a non-empty list of strings, got "
                + list);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode a : list) {
            if (!a.isTextual()) {
                throw new DataFileException(source, line, "\"" + ANSWERS_FIELD + "\" must be a list of strings, got " + list);
            }
            out.add(a.asText().strip());
        }
        return out;
    }

    private static String field(String source, int line, JsonNode node, String name) throws DataFileException {
        JsonNode v = node.get(name);
        if (v == null) {
            List<String> names = new ArrayList<>();
            node.fieldNames().forEachRemaining(names::add);
            throw new DataFileException(source, line, "no \"" + name + "\" field (the fields are " + names + ")");
        }
        if (!v.isTextual()) {
            throw new DataFileException(source, line, "\"" + name + "\" must be a string, not " + v.getNodeType());
        }
        return v.asText();
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
