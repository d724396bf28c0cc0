// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Anomaly detection, as PyTorch's detect_anomaly: inside {@code try (var on = AnomalyMode.enable()) {...}}
 * every op's output, and every gradient an op's backward produces, is checked for NaN and Inf, and the first
 * op that produced one is remembered ({@link #firstNonFinite()}, e.g. "log" or "sqrt (backward)"). It costs
 * one reduction per op, so it is off by default. Per thread, like {@link GradMode}.
 */
public final class AnomalyMode {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private static final ThreadLocal<String> FIRST = new ThreadLocal<>();

    private AnomalyMode() {}

    /** Turns checking on until the scope closes. */
    public static Scope enable() {
        return new Scope();
    }

    public static boolean isEnabled() {
        return ENABLED.get();
    }

    /** The first op (since {@link #clear()}) whose output or gradient was not finite. */
    public static Optional<String> firstNonFinite() {
        return Optional.ofNullable(FIRST.get());
    }

    /**
     * Takes {@code op} as this thread's first non-finite op unless one is known already: how an op found on a
     * worker thread (a data-parallel replica's backward) reaches the thread that waits for the workers.
     */
    public static void noteFirst(String op) {
        if (FIRST.get() == null) {
            FIRST.set(op);
        }
    }

    /** Forgets the op seen so far, e.g. before each micro-batch. */
    public static void clear() {
        FIRST.remove();
    }

    /** Remembers {@code op} when checking is on, nothing is remembered yet, and {@code value} is not finite. */
    static void check(String op, INDArray value, boolean backward) {
        if (!ENABLED.get() || FIRST.get() != null || value == null || value.isEmpty() || !value.dataType().isFPType()) {
            return;
        }
        // One reduction: the sum is NaN or infinite when any element is (barring an overflow of huge values).
        if (!Double.isFinite(value.sumNumber().doubleValue())) {
            FIRST.set(backward ? op + " (backward)" : op);
        }
    }

    /** Restores the previous setting when closed. */
    public static final class Scope implements AutoCloseable {
        private final boolean previous;

        private Scope() {
            previous = ENABLED.get();
            ENABLED.set(true);
        }

        @Override
        public void close() {
            ENABLED.set(previous);
        }
    }
}
