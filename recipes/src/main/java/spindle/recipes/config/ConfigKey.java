// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

import java.util.Objects;

/**
 * One configuration key of a recipe: its dotted name ("train.lr"), its type, its default (null = required,
 * unless the type allows null via {@link #optional}), the numbers it accepts (numeric keys) and what it means,
 * for {@code --help}. Bounds are added by chaining: {@code ConfigKey.of("train.lr", DOUBLE, 3e-3, "...").above(0)}.
 */
public record ConfigKey(String name, Type type, Object defaultValue, boolean optional, Bounds bounds, String description) {
    /** The value types a key can have. */
    public enum Type { INT, LONG, DOUBLE, BOOL, STRING, STRING_LIST }

    public ConfigKey {
        Objects.requireNonNull(bounds, "bounds");
        if (!Bounds.ANY.equals(bounds) && !numeric(type)) {
            throw new IllegalArgumentException("config key " + name + " is " + type + ": only numbers have bounds");
        }
        if (defaultValue instanceof Number n && !bounds.contains(n.doubleValue())) {
            throw new IllegalArgumentException("config key " + name + ": the default " + n + " is not "
                + bounds.describe());
        }
    }

    public static ConfigKey of(String name, Type type, Object defaultValue, String description) {
        return new ConfigKey(name, type, defaultValue, false, Bounds.ANY, description);
    }

    /** A key whose value may be absent (null); the recipe decides what absence means. */
    public static ConfigKey optional(String name, Type type, String description) {
        return new ConfigKey(name, type, null, true, Bounds.ANY, description);
    }

    /** This key accepting only values {@code >= low}. */
    public ConfigKey atLeast(double low) {
        return withBounds(bounds.atLeast(low));
    }

    /** This key accepting only values {@code > low}. */
    public ConfigKey above(double low) {
        return withBounds(bounds.above(low));
    }

    /** This key accepting only values {@code <= high}. */
    public ConfigKey atMost(double high) {
        return withBounds(bounds.atMost(high));
    }

    /** This key accepting only values {@code < high}. */
    public ConfigKey below(double high) {
        return withBounds(bounds.below(high));
    }

    private ConfigKey withBounds(Bounds b) {
        return new ConfigKey(name, type, defaultValue, optional, b, description);
    }

    private static boolean numeric(Type t) {
        return t == Type.INT || t == Type.LONG || t == Type.DOUBLE;
    }
}
