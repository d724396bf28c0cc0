// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

/**
 * Whether ops record on the tape, per thread (data-parallel replicas are threads). Changed only through
 * scopes that restore the previous mode when closed, so a forgotten reset cannot leak into later code.
 */
public final class GradMode {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.TRUE);

    private GradMode() {}

    /** True when ops on this thread record their backward. */
    public static boolean isEnabled() {
        return ENABLED.get();
    }

    /** {@code try (var off = GradMode.disable()) { ... }}: nothing inside is recorded (PyTorch's no_grad). */
    public static Scope disable() {
        return new Scope(false);
    }

    /** Re-enables recording inside an outer disabled scope (PyTorch's enable_grad). */
    public static Scope enable() {
        return new Scope(true);
    }

    /** Restores the mode that was in force when the scope opened. */
    public static final class Scope implements AutoCloseable {
        private final boolean previous;

        private Scope(boolean enabled) {
            previous = ENABLED.get();
            ENABLED.set(enabled);
        }

        @Override
        public void close() {
            ENABLED.set(previous);
        }
    }
}
