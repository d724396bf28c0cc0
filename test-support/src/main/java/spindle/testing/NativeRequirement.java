// SPDX-License-Identifier: Apache-2.0
package spindle.testing;

import java.util.Optional;

/**
 * For tests of Spindle's native kernels: they skip, saying why, when the kernels are not in use (the build found no
 * gcc), unless {@code SPINDLE_REQUIRE_NATIVE=1} (CI), which makes that an error, so CI cannot pass on the Java twins
 * alone.
 */
public final class NativeRequirement {
    private NativeRequirement() {}

    /**
     * Empty when the kernels are in use ({@code whyNot} null), else the reason to skip.
     *
     * @param whyNot NativeKernels.whyNot(): why the native kernels are not in use, or null
     * @throws IllegalStateException when they are not in use but SPINDLE_REQUIRE_NATIVE=1
     */
    public static Optional<String> unavailable(String whyNot) {
        if (whyNot == null) {
            return Optional.empty();
        }
        if ("1".equals(System.getenv("SPINDLE_REQUIRE_NATIVE"))) {
            throw new IllegalStateException("the native kernels are required (SPINDLE_REQUIRE_NATIVE=1) but not in use: "
                + whyNot);
        }
        return Optional.of("skipped: the native kernels are not in use: " + whyNot);
    }
}
