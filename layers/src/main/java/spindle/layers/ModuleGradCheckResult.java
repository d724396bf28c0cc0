// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.Arrays;
import java.util.Locale;
import spindle.autograd.GradCheckOptions;

/**
 * The outcome of a {@link ModuleGradCheck}: how many parameter elements were compared and failed, and the worst
 * one (the largest excess of |analytic - numeric| over its tolerance; a NaN on either side is the worst), which
 * {@link #message()} describes.
 *
 * @param noGradient true when backward left the worst element's parameter without a gradient (read as 0)
 */
public record ModuleGradCheckResult(int checked, int failed, String parameter, long[] index, long[] shape,
                                    double analytic, double numeric, boolean noGradient, GradCheckOptions options) {

    public boolean passed() {
        return failed == 0;
    }

    /** One line naming the parameter, the element index, both values, |diff| and the tolerance. */
    public String message() {
        double diff = Math.abs(analytic - numeric);
        String where = "d loss / d " + parameter + " (shape " + Arrays.toString(shape) + ") at " + Arrays.toString(index);
        String values = String.format(Locale.ROOT, "analytic %.6g, numeric %.6g, |diff| %.3g", analytic, numeric, diff);
        String bound = String.format(Locale.ROOT, "atol %.3g + rtol %.3g * |numeric|", options.atol(), options.rtol());
        String why = noGradient ? " (backward left no gradient)" : "";
        if (passed()) {
            return "module gradcheck passed on " + checked + " elements; closest to failing: " + where + ": " + values
                + " <= " + bound;
        }
        return "module gradcheck failed on " + failed + " of " + checked + " elements; worst " + where + ": " + values
            + " > " + bound + why;
    }
}
