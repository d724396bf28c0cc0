// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte-level BPE as in GPT-2: text is cut into pieces by a regex, each piece's UTF-8 bytes start as
 * byte tokens, and the adjacent pair with the lowest merge rank is merged (every occurrence, left to
 * right) until no ranked pair is left. Trains on a corpus ({@link #train}), reads and writes its own JSON
 * file and GPT-2's {@code encoder.json} + {@code vocab.bpe}; GPT-2's files give GPT-2's (r50k_base) ids.
 */
public final class BpeTokenizer implements Tokenizer {
    /** GPT-2's pre-tokenization regex: contractions, letters, digits, other symbols, whitespace runs. */
    public static final String GPT2_PATTERN =
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private static final int CACHE_LIMIT = 1 << 16;

    private final String patternSource;
    private final Pattern pattern;
    private final int[] byteIds;
    private final int[] mergeLeft;
    private final int[] mergeRight;
    private final int[] mergeResult;
    private final Map<Long, Integer> rankOfPair = new HashMap<>();
    private final byte[][] bytesOf;
    private final Map<String, Integer> special;
    private final Map<Integer, String> specialById = new HashMap<>();
    private final int vocabSize;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * A tokenizer from its parts: {@code byteIds[b]} is the id of byte b, merge r (rank r) joins ids
     * {@code mergeLeft[r]} and {@code mergeRight[r]} into {@code mergeResult[r]}; special ids must not be
     * byte or merge ids. Both ids of a merge must be defined by a byte or an earlier merge.
     */
    BpeTokenizer(String pattern, int[] byteIds, int[] mergeLeft, int[] mergeRight, int[] mergeResult,
                 Map<String, Integer> specialTokens) {
        if (byteIds.length != 256 || mergeLeft.length != mergeRight.length || mergeLeft.length != mergeResult.length) {
            throw new IllegalArgumentException("need 256 byte ids and equally long merge arrays");
        }
        this.patternSource = pattern;
        // \s must mean Unicode White_Space (as in the reference regex engines), not just ASCII whitespace.
        this.pattern = Pattern.compile(pattern, Pattern.UNICODE_CHARACTER_CLASS);
        this.byteIds = byteIds.clone();
        this.mergeLeft = mergeLeft.clone();
        this.mergeRight = mergeRight.clone();
        this.mergeResult = mergeResult.clone();
        this.special = Collections.unmodifiableMap(new LinkedHashMap<>(specialTokens));
        int max = -1;
        for (int id : byteIds) {
            max = Math.max(max, id);
        }
        for (int id : mergeResult) {
            max = Math.max(max, id);
        }
        for (int id : specialTokens.values()) {
            max = Math.max(max, id);
        }
        vocabSize = max + 1;
        bytesOf = new byte[vocabSize][];
        defineTokens();
    }

    private void defineTokens() {
        for (int b = 0; b < 256; b++) {
            checkId(byteIds[b], "byte " + b);
            if (bytesOf[byteIds[b]] != null) {
                throw new IllegalArgumentException("bytes " + (bytesOf[byteIds[b]][0] & 0xff) + " and " + b + " share id " + byteIds[b]);
            }
            bytesOf[byteIds[b]] = new byte[] {(byte) b};
        }
        for (int r = 0; r < mergeLeft.length; r++) {
            byte[] l = defined(mergeLeft[r], r);
            byte[] rt = defined(mergeRight[r], r);
            byte[] joined = Arrays.copyOf(l, l.length + rt.length);
            System.arraycopy(rt, 0, joined, l.length, rt.length);
            checkId(mergeResult[r], "merge " + r);
            if (bytesOf[mergeResult[r]] != null && !Arrays.equals(bytesOf[mergeResult[r]], joined)) {
                throw new IllegalArgumentException("merge " + r + " gives id " + mergeResult[r] + " to other bytes than it already has");
            }
            bytesOf[mergeResult[r]] = joined;
            if (rankOfPair.putIfAbsent(pairKey(mergeLeft[r], mergeRight[r]), r) != null) {
                throw new IllegalArgumentException("merge " + r + " repeats the pair (" + mergeLeft[r] + ", " + mergeRight[r] + ")");
            }
        }
        special.forEach((name, id) -> {
            checkId(id, "special token " + name);
            if (bytesOf[id] != null || specialById.putIfAbsent(id, name) != null) {
                throw new IllegalArgumentException("special token '" + name + "' reuses id " + id);
            }
        });
    }

    private void checkId(int id, String what) {
        if (id < 0) {
            throw new IllegalArgumentException(what + " has negative id " + id);
        }
    }

    private byte[] defined(int id, int rank) {
        if (id < 0 || id >= vocabSize || bytesOf[id] == null) {
            throw new IllegalArgumentException("merge " + rank + " uses id " + id + " before any byte or earlier merge defines it");
        }
        return bytesOf[id];
    }

    /** Trains on {@code corpus} with GPT-2's regex; see {@link #train(String, int, String, List)}. */
    public static BpeTokenizer train(String corpus, int vocabSize, List<String> specialTokens) {
        return train(corpus, vocabSize, GPT2_PATTERN, specialTokens);
    }

    /**
     * Learns merges by pair frequency until {@code vocabSize} ids exist (256 bytes + merges + special
     * tokens) or no pair occurs twice. Ties go to the pair with the smaller ids, so training is deterministic.
     */
    public static BpeTokenizer train(String corpus, int vocabSize, String pattern, List<String> specialTokens) {
        return BpeTrainer.train(corpus, vocabSize, pattern, specialTokens);
    }

    /** Reads a file written by {@link #save}. */
    public static BpeTokenizer load(Path file) throws IOException {
        return BpeFiles.load(file);
    }

    /** Writes this tokenizer as one JSON file: regex, byte ids, merges (left, right, result) and special tokens. */
    public void save(Path file) throws IOException {
        BpeFiles.save(this, file);
    }

    /** Reads GPT-2's {@code encoder.json} (token string to id) and {@code vocab.bpe} (merges by rank). */
    public static BpeTokenizer loadGpt2(Path encoderJson, Path vocabBpe) throws IOException {
        return BpeFiles.loadGpt2(encoderJson, vocabBpe);
    }

    /** Writes GPT-2's two files (also read by Hugging Face as {@code vocab.json} + {@code merges.txt}). */
    public void saveGpt2(Path encoderJson, Path vocabBpe) throws IOException {
        BpeFiles.saveGpt2(this, encoderJson, vocabBpe);
    }

    @Override
    public int[] encode(String text) {
        List<int[]> parts = new ArrayList<>();
        int total = 0;
        for (String piece : pieces(pattern, text)) {
            int[] ids = cache.get(piece);
            if (ids == null) {
                ids = encodePiece(piece);
                if (cache.size() > CACHE_LIMIT) {
                    cache.clear();
                }
                cache.put(piece, ids);
            }
            parts.add(ids);
            total += ids.length;
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] ids : parts) {
            System.arraycopy(ids, 0, out, at, ids.length);
            at += ids.length;
        }
        return out;
    }

    /** The regex matches of {@code text} in order, plus any text between matches as pieces of its own. */
    static List<String> pieces(Pattern pattern, String text) {
        List<String> out = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) {
                out.add(text.substring(last, m.start()));   // a custom regex may skip text: keep it
            }
            if (m.end() > m.start()) {
                out.add(m.group());
            }
            last = Math.max(last, m.end());
        }
        if (last < text.length()) {
            out.add(text.substring(last));
        }
        return out;
    }

    private int[] encodePiece(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = byteIds[bytes[i] & 0xff];
        }
        int n = ids.length;
        while (n >= 2) {
            int best = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < n; i++) {
                Integer r = rankOfPair.get(pairKey(ids[i], ids[i + 1]));
                if (r != null && r < best) {
                    best = r;
                }
            }
            if (best == Integer.MAX_VALUE) {
                break;
            }
            n = mergeAll(ids, n, mergeLeft[best], mergeRight[best], mergeResult[best]);
        }
        return Arrays.copyOf(ids, n);
    }

    /** Replaces each (left, right) in ids[0, n), scanning left to right without overlap; returns the new length. */
    static int mergeAll(int[] ids, int n, int left, int right, int result) {
        int w = 0;
        for (int i = 0; i < n; ) {
            if (i + 1 < n && ids[i] == left && ids[i + 1] == right) {
                ids[w++] = result;
                i += 2;
            } else {
                ids[w++] = ids[i++];
            }
        }
        return w;
    }

    static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xffffffffL);
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            String name = specialById.get(id);
            if (name != null) {
                out.writeBytes(name.getBytes(StandardCharsets.UTF_8));
            } else if (id >= 0 && id < vocabSize && bytesOf[id] != null) {
                out.writeBytes(bytesOf[id]);
            } else if (id < vocabSize) {   // past the vocabulary is skipped; a negative id or a hole inside it is not
                throw new IllegalArgumentException("id " + id + " at index " + i + " is not a token of this vocabulary (size " + vocabSize + ")");
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The raw bytes of token {@code id} (a copy); null for a special token or an unused id. */
    public byte[] tokenBytes(int id) {
        return id >= 0 && id < vocabSize && bytesOf[id] != null ? bytesOf[id].clone() : null;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return special;
    }

    /** The pre-tokenization regex. */
    public String pattern() {
        return patternSource;
    }

    /** Number of merges (ranks 0 .. mergeCount-1). */
    public int mergeCount() {
        return mergeLeft.length;
    }

    int byteId(int b) {
        return byteIds[b];
    }

    int[] merge(int rank) {
        return new int[] {mergeLeft[rank], mergeRight[rank], mergeResult[rank]};
    }

    byte[] bytesOrNull(int id) {
        return bytesOf[id];
    }
}
