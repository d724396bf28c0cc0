// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

/**
 * Tolerances of {@link GradCheck}. {@link #defaults()} are {@code torch.autograd.gradcheck}'s: eps 1e-6,
 * atol 1e-5, rtol 1e-3; an element fails when |analytic - numeric| > atol + rtol * |numeric|.
 * Inputs with more than {@code maxElementsPerInput} elements are checked at a seeded random subset.
 */
public record GradCheckOptions(double eps, double atol, double rtol, int maxElementsPerInput, long seed) {
    public GradCheckOptions {
        if (!(eps > 0) || !(atol >= 0) || !(rtol >= 0)) {
            throw new IllegalArgumentException("GradCheckOptions: eps must be > 0 and atol, rtol >= 0, got eps "
                + eps + ", atol " + atol + ", rtol " + rtol);
        }
        if (maxElementsPerInput < 1) {
            throw new IllegalArgumentException("GradCheckOptions: maxElementsPerInput must be >= 1, got " + maxElementsPerInput);
        }
    }

    public static GradCheckOptions defaults() {
        return new GradCheckOptions(1e-6, 1e-5, 1e-3, 512, 0);
    }

    public GradCheckOptions withEps(double v) {
        return new GradCheckOptions(v, atol, rtol, maxElementsPerInput, seed);
    }

    public GradCheckOptions withTolerance(double atolValue, double rtolValue) {
        return new GradCheckOptions(eps, atolValue, rtolValue, maxElementsPerInput, seed);
    }

    public GradCheckOptions withMaxElementsPerInput(int v) {
        return new GradCheckOptions(eps, atol, rtol, v, seed);
    }

    public GradCheckOptions withSeed(long v) {
        return new GradCheckOptions(eps, atol, rtol, maxElementsPerInput, v);
    }
}
