// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

/**
 * One configuration key of a recipe: its dotted name ("train.lr"), its type, its default (null = required,
 * unless the type allows null via {@link #optional}) and what it means, for {@code --help}.
 */
public record ConfigKey(String name, Type type, Object defaultValue, boolean optional, String description) {
    /** The value types a key can have. */
    public enum Type { INT, LONG, DOUBLE, BOOL, STRING, STRING_LIST }

    public static ConfigKey of(String name, Type type, Object defaultValue, String description) {
        return new ConfigKey(name, type, defaultValue, false, description);
    }

    /** A key whose value may be absent (null); the recipe decides what absence means. */
    public static ConfigKey optional(String name, Type type, String description) {
        return new ConfigKey(name, type, null, true, description);
    }
}
