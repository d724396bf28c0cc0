// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Byte-level BPE training (Sennrich et al. 2016 over bytes, as GPT-2): count the corpus' regex pieces,
 * then repeatedly merge the most frequent adjacent pair. A merge whose bytes already form a token reuses
 * that token's id (as Hugging Face's trainer), so every id has distinct bytes and GPT-2 files can hold them.
 */
final class BpeTrainer {
    /** One candidate in the queue; stale when its count no longer equals the pair's current count. */
    private record Candidate(long count, int left, int right) {
    }

    private final List<int[]> words = new ArrayList<>();
    private final List<Integer> lengths = new ArrayList<>();
    private final List<Long> freqs = new ArrayList<>();
    private final Map<Long, Long> pairCounts = new HashMap<>();
    private final Map<Long, Set<Integer>> pairWords = new HashMap<>();
    private final PriorityQueue<Candidate> queue = new PriorityQueue<>((a, b) -> a.count != b.count
        ? Long.compare(b.count, a.count)
        : a.left != b.left ? Integer.compare(a.left, b.left) : Integer.compare(a.right, b.right));

    private BpeTrainer() {
    }

    static BpeTokenizer train(String corpus, int vocabSize, String pattern, List<String> specialTokens) {
        if (vocabSize < 256 + specialTokens.size()) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " is below 256 byte tokens + "
                + specialTokens.size() + " special tokens");
        }
        Map<String, Long> counts = new HashMap<>();
        Pattern p = Pattern.compile(pattern, Pattern.UNICODE_CHARACTER_CLASS);
        for (String piece : BpeTokenizer.pieces(p, corpus)) {
            counts.merge(piece, 1L, Long::sum);
        }
        BpeTrainer t = new BpeTrainer();
        counts.keySet().stream().sorted().forEach(w -> t.addWord(w, counts.get(w)));
        return t.run(vocabSize - specialTokens.size(), pattern, specialTokens);
    }

    private void addWord(String piece, long freq) {
        byte[] b = piece.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = b[i] & 0xff;
        }
        words.add(ids);
        lengths.add(ids.length);
        freqs.add(freq);
        count(words.size() - 1, +1, new HashSet<>());
    }

    /** Adds (sign +1) or removes (-1) word w's pairs from the counts, noting which pairs changed. */
    private void count(int w, int sign, Set<Long> changed) {
        int[] ids = words.get(w);
        long f = freqs.get(w) * sign;
        for (int i = 0; i + 1 < lengths.get(w); i++) {
            long key = BpeTokenizer.pairKey(ids[i], ids[i + 1]);
            pairCounts.merge(key, f, (a, b) -> a + b == 0 ? null : a + b);
            if (sign > 0) {
                pairWords.computeIfAbsent(key, k -> new HashSet<>()).add(w);
            }
            changed.add(key);
        }
    }

    private void enqueue(Iterable<Long> keys) {
        for (long key : keys) {
            Long c = pairCounts.get(key);
            if (c != null && c > 0) {
                queue.add(new Candidate(c, (int) (key >>> 32), (int) key));
            }
        }
    }

    private BpeTokenizer run(int targetIds, String pattern, List<String> specialTokens) {
        enqueue(pairCounts.keySet());
        List<byte[]> bytesOf = new ArrayList<>();
        Map<String, Integer> idOfBytes = new HashMap<>();   // ISO-8859-1 keeps one char per byte
        for (int b = 0; b < 256; b++) {
            bytesOf.add(new byte[] {(byte) b});
            idOfBytes.put(new String(new byte[] {(byte) b}, StandardCharsets.ISO_8859_1), b);
        }
        List<int[]> merges = new ArrayList<>();
        while (bytesOf.size() < targetIds && !queue.isEmpty()) {
            Candidate c = queue.poll();
            long key = BpeTokenizer.pairKey(c.left, c.right);
            if (pairCounts.getOrDefault(key, 0L) != c.count) {
                continue;
            }
            if (c.count < 2) {
                break;   // merging pairs seen once only memorises the corpus
            }
            byte[] l = bytesOf.get(c.left);
            byte[] r = bytesOf.get(c.right);
            byte[] joined = new byte[l.length + r.length];
            System.arraycopy(l, 0, joined, 0, l.length);
            System.arraycopy(r, 0, joined, l.length, r.length);
            int id = idOfBytes.computeIfAbsent(new String(joined, StandardCharsets.ISO_8859_1), k -> {
                bytesOf.add(joined);
                return bytesOf.size() - 1;
            });
            merges.add(new int[] {c.left, c.right, id});
            apply(key, c.left, c.right, id);
        }
        return build(pattern, merges, bytesOf.size(), specialTokens);
    }

    private void apply(long key, int left, int right, int id) {
        Set<Long> changed = new HashSet<>();
        for (int w : new ArrayList<>(pairWords.getOrDefault(key, Set.of()))) {
            count(w, -1, changed);
            lengths.set(w, BpeTokenizer.mergeAll(words.get(w), lengths.get(w), left, right, id));
            count(w, +1, changed);
        }
        pairCounts.remove(key);
        pairWords.remove(key);
        enqueue(changed);
    }

    private static BpeTokenizer build(String pattern, List<int[]> merges, int firstSpecial, List<String> specialTokens) {
        int[] byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteIds[b] = b;
        }
        int n = merges.size();
        int[] left = new int[n];
        int[] right = new int[n];
        int[] result = new int[n];
        for (int r = 0; r < n; r++) {
            left[r] = merges.get(r)[0];
            right[r] = merges.get(r)[1];
            result[r] = merges.get(r)[2];
        }
        Map<String, Integer> special = new LinkedHashMap<>();
        for (String name : specialTokens) {
            if (special.putIfAbsent(name, firstSpecial + special.size()) != null) {
                throw new IllegalArgumentException("special token '" + name + "' is listed twice");
            }
        }
        return new BpeTokenizer(pattern, byteIds, left, right, result, special);
    }
}
