// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

import java.util.Collection;
import java.util.List;

/**
 * The "did you mean" of an unknown key: the declared keys whose last part is the same ({@code eval_every} or
 * {@code training.eval_every} for {@code train.eval_every}), else the nearest spelling within 3 edits.
 */
final class KeySuggestions {
    private static final int MAX_EDITS = 3;

    private KeySuggestions() {}

    /** " (did you mean 'train.steps'?)", or "" when no declared key is close. */
    static String forUnknown(String key, Collection<String> declared) {
        List<String> sameLastPart = declared.stream().filter(k -> lastPart(k).equals(lastPart(key))).toList();
        if (!sameLastPart.isEmpty()) {
            return " (did you mean '" + String.join("' or '", sameLastPart) + "'?)";
        }
        String best = null;
        int bestDistance = MAX_EDITS + 1;
        for (String candidate : declared) {
            int d = editDistance(key, candidate);
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
    }

    private static String lastPart(String key) {
        return key.substring(key.lastIndexOf('.') + 1);
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            int[] cur = new int[b.length() + 1];
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            prev = cur;
        }
        return prev[b.length()];
    }
}
