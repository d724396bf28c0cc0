// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

/**
 * A rank's failure during a step as a number it sums with the other ranks' (one slot per rank), so that every
 * rank learns which rank failed and how, and stops with the same error.
 */
final class StepFailures {
    private static final int NAN = 1;
    private static final int PLUS_INFINITY = 2;
    private static final int MINUS_INFINITY = 3;
    private static final int OTHER = 4;

    private StepFailures() {}

    static int code(Throwable failure) {
        if (failure instanceof NonFiniteException e) {
            return Double.isNaN(e.value()) ? NAN : e.value() > 0 ? PLUS_INFINITY : MINUS_INFINITY;
        }
        return OTHER;
    }

    /** Throws for the first rank whose slot in {@code summed} (slots 0 .. ranks-1) is set. */
    static void throwIfAny(double[] summed, int ranks, long step) {
        for (int r = 0; r < ranks; r++) {
            int code = (int) summed[r];
            switch (code) {
                case 0 -> { }
                case NAN -> throw new NonFiniteException(step, "loss on rank " + r, Double.NaN, null);
                case PLUS_INFINITY -> throw new NonFiniteException(step, "loss on rank " + r, Double.POSITIVE_INFINITY, null);
                case MINUS_INFINITY -> throw new NonFiniteException(step, "loss on rank " + r, Double.NEGATIVE_INFINITY, null);
                default -> throw new IllegalStateException("rank " + r + " failed during step " + step
                    + " (its error is on its own output)");
            }
        }
    }
}
