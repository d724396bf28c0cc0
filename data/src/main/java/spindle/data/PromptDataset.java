// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import spindle.data.tokenizer.Tokenizer;
import spindle.data.tokenizer.UnknownCharacterException;

/**
 * Prompt/response pairs from JSONL (one JSON object per line) for supervised fine-tuning. An example's
 * tokens are s = encode(prompt) ++ encode(response) [++ eos], cut to T + 1; inputs are s[0, L-1) and
 * targets s[1, L), with {@link Batch#IGNORE_INDEX} wherever the target is still a prompt token, so the
 * loss is taken on the response only. Packed rows may hold several examples (attention is not masked
 * between them).
 */
public final class PromptDataset implements Dataset {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<int[]> inputs;
    private final List<int[]> targets;

    private PromptDataset(List<int[]> inputs, List<int[]> targets) {
        this.inputs = inputs;
        this.targets = targets;
    }

    /** Reads a UTF-8 JSONL file; a malformed line, missing field or unknown character names file and line. */
    public static PromptDataset read(Path jsonl, Tokenizer tokenizer, PromptOptions options) throws IOException {
        return parse(jsonl.toString(), TextFiles.read(jsonl), tokenizer, options);
    }

    /** Reads an embedded JSONL resource such as {@link EmbeddedData#QUIZ_TRAIN}. */
    public static PromptDataset readResource(String resource, Tokenizer tokenizer, PromptOptions options) throws IOException {
        return parse(resource, TextFiles.resource(resource), tokenizer, options);
    }

    /** Parses JSONL text that came from {@code source} (named in errors). Blank lines are skipped. */
    public static PromptDataset parse(String source, String jsonl, Tokenizer tokenizer, PromptOptions options)
        throws DataFileException {
        int eos = options.eosToken() == null ? -1 : tokenizer.specialToken(options.eosToken());
        List<int[]> xs = new ArrayList<>();
        List<int[]> ys = new ArrayList<>();
        List<String> lines = TextFiles.lines(jsonl);
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                example(source, i + 1, lines.get(i), tokenizer, options, eos, xs, ys);
            }
        }
        if (xs.isEmpty()) {
            throw new DataFileException(source, 0, "has no examples" + (jsonl.isBlank() ? " (the file is empty)" : ""));
        }
        return options.layout() == PromptOptions.Layout.PACKED ? pack(xs, ys, options.maxSeqLen()) : new PromptDataset(xs, ys);
    }

    private static void example(String source, int line, String text, Tokenizer tok, PromptOptions o, int eos,
                                List<int[]> xs, List<int[]> ys) throws DataFileException {
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
        int[] prompt = encode(source, line, field(source, line, node, o.promptField()), tok, o.promptField());
        int[] response = encode(source, line, field(source, line, node, o.responseField()), tok, o.responseField());
        if (response.length == 0 && eos < 0) {
            throw new DataFileException(source, line, "\"" + o.responseField() + "\" is empty: nothing to learn");
        }
        int total = Math.min(prompt.length + response.length + (eos >= 0 ? 1 : 0), o.maxSeqLen() + 1);
        if (prompt.length + 1 > total) {
            throw new DataFileException(source, line, "the prompt is " + prompt.length + " tokens and leaves no response"
                + " token within max_seq_len " + o.maxSeqLen());
        }
        int[] s = Arrays.copyOf(prompt, prompt.length + response.length + 1);
        System.arraycopy(response, 0, s, prompt.length, response.length);
        s[s.length - 1] = eos;   // dropped below when there is no EOS token
        int[] x = Arrays.copyOfRange(s, 0, total - 1);
        int[] y = Arrays.copyOfRange(s, 1, total);
        for (int t = 0; t + 1 < prompt.length; t++) {
            y[t] = Batch.IGNORE_INDEX;   // position t predicts prompt token t + 1
        }
        xs.add(x);
        ys.add(y);
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

    private static int[] encode(String source, int line, String text, Tokenizer tok, String field) throws DataFileException {
        try {
            return tok.encode(text);
        } catch (UnknownCharacterException e) {
            throw new DataFileException(source, line, "in \"" + field + "\": " + e.getMessage());
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** Concatenates all examples and cuts the streams into rows of T; targets never cross into another example. */
    private static PromptDataset pack(List<int[]> xs, List<int[]> ys, int t) {
        int total = xs.stream().mapToInt(a -> a.length).sum();
        int[] x = new int[total];
        int[] y = new int[total];
        int at = 0;
        for (int i = 0; i < xs.size(); i++) {
            System.arraycopy(xs.get(i), 0, x, at, xs.get(i).length);
            System.arraycopy(ys.get(i), 0, y, at, ys.get(i).length);
            at += xs.get(i).length;
        }
        List<int[]> rx = new ArrayList<>();
        List<int[]> ry = new ArrayList<>();
        for (int from = 0; from < total; from += t) {
            rx.add(Arrays.copyOfRange(x, from, Math.min(from + t, total)));
            ry.add(Arrays.copyOfRange(y, from, Math.min(from + t, total)));
        }
        return new PromptDataset(rx, ry);
    }

    @Override
    public int size() {
        return inputs.size();
    }

    /** Rows at {@code indices}, right-padded to the longest (inputs with 0, targets with -100): INT64 [B, T]. */
    @Override
    public Batch batch(int[] indices) {
        int[][] x = new int[indices.length][];
        int[][] y = new int[indices.length][];
        for (int r = 0; r < indices.length; r++) {
            x[r] = inputs.get(indices[r]);
            y[r] = targets.get(indices[r]);
        }
        return Batch.ofRows(x, y, 0);
    }

    /** Input ids of row i (a copy). */
    public int[] inputs(int i) {
        return inputs.get(i).clone();
    }

    /** Target ids of row i, -100 where masked (a copy). */
    public int[] targets(int i) {
        return targets.get(i).clone();
    }
}
