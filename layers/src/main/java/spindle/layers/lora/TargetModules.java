// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * PEFT's {@code target_modules} (and {@code exclude_modules}) value: a list of names, a regex string, or the
 * string "all-linear". A list entry matches a module whose full name equals it or ends with "." + entry
 * ("q_proj" matches "model.layers.0.self_attn.q_proj"); a regex must match the whole name (Python's
 * {@code re.fullmatch}); "all-linear" matches every linear but the output head {@code lm_head}.
 */
public final class TargetModules {
    /** PEFT's shorthand for every linear layer but the output head (compared ignoring case, as PEFT does). */
    public static final String ALL_LINEAR = "all-linear";
    private static final TargetModules NONE = new TargetModules(List.of(), null, false);

    private final List<String> names;
    private final Pattern regex;
    private final boolean allLinear;

    private TargetModules(List<String> names, Pattern regex, boolean allLinear) {
        this.names = names;
        this.regex = regex;
        this.allLinear = allLinear;
    }

    /** Modules whose name equals an entry or ends with "." + entry. */
    public static TargetModules names(List<String> names) {
        if (names == null) {
            throw new IllegalArgumentException("target module names must not be null");
        }
        for (String n : names) {
            if (n == null || n.isEmpty()) {
                throw new IllegalArgumentException("target module names must be non-empty, got " + names);
            }
        }
        return names.isEmpty() ? NONE : new TargetModules(List.copyOf(names), null, false);
    }

    /** As {@link #names(List)}. */
    public static TargetModules names(String... names) {
        return names(List.of(names));
    }

    /** Modules whose whole name matches {@code regex}. */
    public static TargetModules regex(String regex) {
        if (regex == null || regex.isEmpty()) {
            throw new IllegalArgumentException("a target_modules regex must be non-empty");
        }
        try {
            return new TargetModules(List.of(), Pattern.compile(regex), false);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("target_modules regex '" + regex + "' does not compile: "
                + e.getDescription(), e);
        }
    }

    /** Every linear but lm_head. */
    public static TargetModules allLinear() {
        return new TargetModules(List.of(), null, true);
    }

    /** Nothing (an empty list): the default of exclude_modules. */
    public static TargetModules none() {
        return NONE;
    }

    /**
     * The value as adapter_config.json holds it: a JSON string ("all-linear" or a regex) or a list of strings;
     * null is {@link #none()}.
     */
    public static TargetModules parse(Object json, String key) {
        if (json == null) {
            return NONE;
        }
        if (json instanceof String s) {
            return s.equalsIgnoreCase(ALL_LINEAR) ? allLinear() : regex(s);
        }
        if (json instanceof List<?> list) {
            List<String> out = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw new IllegalArgumentException(key + " must be a string or a list of strings, but holds " + o);
                }
                out.add(s);
            }
            return names(out);
        }
        throw new IllegalArgumentException(key + " must be a string or a list of strings, got " + json);
    }

    /** The JSON value PEFT writes: the string (regex or "all-linear") or the list of names. */
    public Object toJson() {
        return allLinear ? ALL_LINEAR : regex != null ? regex.pattern() : names;
    }

    public boolean isAllLinear() {
        return allLinear;
    }

    /** True for a regex string (not "all-linear"). */
    public boolean isRegex() {
        return regex != null;
    }

    /** True for an empty list. */
    public boolean isEmpty() {
        return !allLinear && regex == null && names.isEmpty();
    }

    /** The list entries (empty for a regex or "all-linear"). */
    public List<String> entries() {
        return names;
    }

    /** Whether the module {@code fullName} is selected; for "all-linear" the caller asks for linears only. */
    public boolean matches(String fullName) {
        if (allLinear) {
            return !fullName.equals("lm_head") && !fullName.endsWith(".lm_head");
        }
        if (regex != null) {
            return regex.matcher(fullName).matches();
        }
        for (String entry : names) {
            if (entryMatches(entry, fullName)) {
                return true;
            }
        }
        return false;
    }

    /** PEFT's rule for one list entry: equal to the name, or a suffix after a dot. */
    static boolean entryMatches(String entry, String fullName) {
        return fullName.equals(entry) || fullName.endsWith("." + entry);
    }

    @Override
    public String toString() {
        return allLinear ? "\"" + ALL_LINEAR + "\"" : regex != null ? "regex \"" + regex.pattern() + "\"" : names.toString();
    }
}
