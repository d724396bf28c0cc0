// SPDX-License-Identifier: Apache-2.0
package spindle.data;

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
    private final List<int[]> inputs;
    private final List<int[]> targets;

    private PromptDataset(List<int[]> inputs, List<int[]> targets) {
        this.inputs = inputs;
        this.targets = targets;
    }

    /** Reads a UTF-8 JSONL file; a malformed line, missing field or unknown character names file and line. */
    public static PromptDataset read(Path jsonl, Tokenizer tokenizer, PromptOptions options) throws IOException {
        return of(PromptPairs.read(jsonl, options), tokenizer, options);
    }

    /** Reads an embedded JSONL resource such as {@link EmbeddedData#QUIZ_TRAIN}. */
    public static PromptDataset readResource(String resource, Tokenizer tokenizer, PromptOptions options) throws IOException {
        return of(PromptPairs.readResource(resource, options), tokenizer, options);
    }

    /** Parses JSONL text that came from {@code source} (named in errors). Blank lines are skipped. */
    public static PromptDataset parse(String source, String jsonl, Tokenizer tokenizer, PromptOptions options)
        throws DataFileException {
        return of(PromptPairs.parse(source, jsonl, options), tokenizer, options);
    }

    /** Tokenizes pairs already read (see {@link PromptPairs}); an unknown character or a too-long prompt names the line. */
    public static PromptDataset of(List<PromptPair> pairs, Tokenizer tokenizer, PromptOptions options)
        throws DataFileException {
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("PromptDataset needs at least one prompt/response pair");
        }
        int eos = options.eosToken() == null ? -1 : tokenizer.specialToken(options.eosToken());
        List<int[]> xs = new ArrayList<>();
        List<int[]> ys = new ArrayList<>();
        for (PromptPair p : pairs) {
            example(p, tokenizer, options, eos, xs, ys);
        }
        return options.layout() == PromptOptions.Layout.PACKED ? pack(xs, ys, options.maxSeqLen()) : new PromptDataset(xs, ys);
    }

    private static void example(PromptPair p, Tokenizer tok, PromptOptions o, int eos, List<int[]> xs, List<int[]> ys)
        throws DataFileException {
        int[] prompt = encode(p, p.prompt(), tok, o.promptField());
        int[] response = encode(p, p.response() + o.responseEnd(), tok, o.responseField());
        if (response.length == 0 && eos < 0) {
            throw new DataFileException(p.source(), p.line(), "\"" + o.responseField() + "\" is empty: nothing to learn");
        }
        int total = Math.min(prompt.length + response.length + (eos >= 0 ? 1 : 0), o.maxSeqLen() + 1);
        if (prompt.length + 1 > total) {
            throw new DataFileException(p.source(), p.line(), "the prompt is " + prompt.length + " tokens and leaves no"
                + " response token within max_seq_len " + o.maxSeqLen());
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

    private static int[] encode(PromptPair p, String text, Tokenizer tok, String field) throws DataFileException {
        try {
            return tok.encode(text);
        } catch (UnknownCharacterException e) {
            throw new DataFileException(p.source(), p.line(), "in \"" + field + "\": " + e.getMessage());
        }
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
