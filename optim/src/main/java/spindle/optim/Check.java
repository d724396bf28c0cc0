// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

/** Argument checks whose messages name the owner and the option, e.g. "Adam: beta1 must be in [0, 1) but is 1.0". */
final class Check {
    private Check() {}

    /** v >= 0 (NaN fails). */
    static double nonNegative(double v, String owner, String name) {
        if (!(v >= 0)) {
            throw new IllegalArgumentException(owner + ": " + name + " must be >= 0 but is " + v);
        }
        return v;
    }

    /** v > 0 (NaN fails). */
    static double positive(double v, String owner, String name) {
        if (!(v > 0)) {
            throw new IllegalArgumentException(owner + ": " + name + " must be > 0 but is " + v);
        }
        return v;
    }

    /** 0 <= v < 1, PyTorch's range for Adam's betas. */
    static double inUnitRange(double v, String owner, String name) {
        if (!(v >= 0 && v < 1)) {
            throw new IllegalArgumentException(owner + ": " + name + " must be in [0, 1) but is " + v);
        }
        return v;
    }

    /** 0 <= v <= 1. */
    static double inClosedUnitRange(double v, String owner, String name) {
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(owner + ": " + name + " must be in [0, 1] but is " + v);
        }
        return v;
    }

    /** A finite value (dampening may be any real number in PyTorch, but not NaN or infinite). */
    static double finite(double v, String owner, String name) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException(owner + ": " + name + " must be finite but is " + v);
        }
        return v;
    }

    /** A flag given as a number in a by-name override or a checkpoint: 1 is true, 0 is false. */
    static boolean flag(double v, String owner, String name) {
        if (v != 0 && v != 1) {
            throw new IllegalArgumentException(owner + ": " + name + " is a flag and must be 0 or 1 but is " + v);
        }
        return v == 1;
    }

    /** Message for a by-name override that names no option of this optimizer. */
    static IllegalArgumentException unknownOption(String owner, String name, java.util.Set<String> known) {
        return new IllegalArgumentException(owner + ": unknown option '" + name + "'; known options are " + known);
    }
}
