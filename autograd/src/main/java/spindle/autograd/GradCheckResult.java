// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

/**
 * The outcome of a {@link GradCheck}: how many elements were compared and failed, and the worst one
 * (the largest excess of |analytic - numeric| over its tolerance), which {@link #message()} describes.
 */
public record GradCheckResult(int checked, int failed, int worstInput, long[] worstIndex, long[] inputShape,
                              double analytic, double numeric, GradCheckOptions options) {

    public boolean passed() {
        return failed == 0;
    }

    /** One line naming the input, the element index, both values and the tolerance. */
    public String message() {
        double diff = Math.abs(analytic - numeric);
        String where = "d out / d in[" + worstInput + "] (shape " + java.util.Arrays.toString(inputShape) + ") at "
            + java.util.Arrays.toString(worstIndex);
        String values = String.format("analytic %.6g, numeric %.6g, |diff| %.3g", analytic, numeric, diff);
        String bound = String.format("atol %.3g + rtol %.3g * |numeric|", options.atol(), options.rtol());
        if (passed()) {
            return "gradcheck passed on " + checked + " elements; closest to failing: " + where + ": " + values + " <= " + bound;
        }
        return "gradcheck failed on " + failed + " of " + checked + " elements; worst " + where + ": " + values + " > " + bound;
    }
}
