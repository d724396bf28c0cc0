// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

/** Argument checks whose messages name the argument by its config key. */
public final class Check {
    private Check() {}

    public static int positive(int value, String name) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive but is " + value);
        }
        return value;
    }

    public static int even(int value, String name) {
        if (value % 2 != 0) {
            throw new IllegalArgumentException(name + " must be even but is " + value);
        }
        return value;
    }

    /** {@code value} is a whole multiple of {@code of} (heads of kv heads, hidden of heads). */
    public static int divisible(int value, String name, int of, String ofName) {
        if (of <= 0 || value % of != 0) {
            throw new IllegalArgumentException(name + " (" + value + ") must be a multiple of " + ofName + " (" + of + ")");
        }
        return value;
    }

    public static double probability(double value, String name) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1) but is " + value);
        }
        return value;
    }
}
