// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which configuration keys a resumed run may change. A fixed key (the model, the data and its order, the seed,
 * what one step computes) must equal the value the checkpoint was written with, or the run would continue a
 * different experiment; any other key (lr, schedule, steps, clipping, cadences) takes its new value, reported
 * in one line. A name ending in '.' fixes every key under it ("model.").
 *
 * <pre>{@code
 * ResumeRules.fixed("model.", "data.seq", "data.batch", "train.seed").withFreshStartKey("train.resume")
 * }</pre>
 */
public final class ResumeRules {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<String> fixed;
    private final String freshStartKey;

    private ResumeRules(List<String> fixed, String freshStartKey) {
        this.fixed = List.copyOf(fixed);
        this.freshStartKey = freshStartKey;
    }

    /** Rules under which the given keys (or prefixes ending in '.') cannot change on resume. */
    public static ResumeRules fixed(String... keys) {
        return new ResumeRules(List.of(keys), null);
    }

    /**
     * The boolean key that starts a run from step 0 (false = delete the checkpoints): named in the error for a
     * changed fixed key, and itself free to change.
     */
    public ResumeRules withFreshStartKey(String key) {
        return new ResumeRules(fixed, key);
    }

    /** True when {@code key} must keep the checkpoint's value. */
    public boolean isFixed(String key) {
        return fixed.stream().anyMatch(f -> f.endsWith(".") ? key.startsWith(f) : key.equals(f));
    }

    /**
     * Compares the run's configuration {@code now} with {@code saved}, the one {@code checkpoint} was written
     * with; returns one line per changed key, and throws an IllegalArgumentException naming a changed fixed key,
     * both values and how to start fresh.
     */
    public List<String> compare(Map<String, Object> now, JsonNode saved, Path checkpoint) {
        JsonNode current = JSON.valueToTree(now);
        JsonNode before = saved == null ? MissingNode.getInstance() : saved;
        Set<String> keys = new LinkedHashSet<>();
        current.fieldNames().forEachRemaining(keys::add);
        before.fieldNames().forEachRemaining(keys::add);
        List<String> changes = new ArrayList<>();
        for (String key : keys) {
            JsonNode was = before.path(key);
            JsonNode is = current.path(key);
            if (same(was, is) || key.equals(freshStartKey)) {
                continue;
            }
            if (was.isMissingNode()) {
                changes.add(key + ": not in the checkpoint's configuration; using " + show(is));
            } else if (is.isMissingNode()) {
                changes.add(key + ": no longer a key (it was " + show(was) + ")");
            } else if (isFixed(key)) {
                throw new IllegalArgumentException(key + " cannot change when a run resumes: " + checkpoint
                    + " was written with " + key + "=" + show(was) + ", the configuration now has " + key + "="
                    + show(is) + ". Set it back, or " + freshStart());
            } else {
                changes.add(key + ": " + show(was) + " -> " + show(is) + " (changed since the checkpoint; the new value"
                    + " is used)");
            }
        }
        return changes;
    }

    private String freshStart() {
        return freshStartKey == null ? "start from step 0 in another output folder"
            : "start from step 0 with " + freshStartKey + "=false (deletes the checkpoints) or in another output folder";
    }

    /** Equal values; numbers by value, so 3 and 3.0 are the same. */
    private static boolean same(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        return a.equals(b);
    }

    private static String show(JsonNode v) {
        return v.isValueNode() ? v.asText() : v.toString();
    }
}
