// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

/**
 * The numbers a numeric key accepts, as an interval whose ends may be open, closed or absent (infinite):
 * {@code train.lr} is {@code > 0}, {@code data.batch} is {@code >= 1}. NaN and the infinities are never inside:
 * no count, rate or size in a recipe means anything at infinity.
 */
public record Bounds(double min, boolean minIncluded, double max, boolean maxIncluded) {
    /** Every number but NaN. */
    public static final Bounds ANY = new Bounds(Double.NEGATIVE_INFINITY, true, Double.POSITIVE_INFINITY, true);

    /** Whether {@code v} is finite and inside; false for NaN (each comparison is false for it) and infinities. */
    public boolean contains(double v) {
        return Double.isFinite(v) && (minIncluded ? v >= min : v > min) && (maxIncluded ? v <= max : v < max);
    }

    Bounds atLeast(double low) {
        return new Bounds(low, true, max, maxIncluded);
    }

    Bounds above(double low) {
        return new Bounds(low, false, max, maxIncluded);
    }

    Bounds atMost(double high) {
        return new Bounds(min, minIncluded, high, true);
    }

    Bounds below(double high) {
        return new Bounds(min, minIncluded, high, false);
    }

    /** As the error and {@code --help} say it: "> 0", ">= 1", "> 0 and < 1"; "a finite number" for {@link #ANY}. */
    public String describe() {
        String low = min == Double.NEGATIVE_INFINITY ? "" : (minIncluded ? ">= " : "> ") + number(min);
        String high = max == Double.POSITIVE_INFINITY ? "" : (maxIncluded ? "<= " : "< ") + number(max);
        if (low.isEmpty() && high.isEmpty()) {
            return "a finite number";
        }
        return low.isEmpty() || high.isEmpty() ? low + high : low + " and " + high;
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
