// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The extension point every op goes through, the library's and a user's alike: compute the forward
 * value, then record it with its backward lambda and inputs.
 *
 * <pre>{@code
 * static Tensor cube(Tensor x) {
 *     INDArray y = x.value().mul(x.value()).muli(x.value());
 *     return Tape.record("cube", y, g -> g.add(0, g.out().mul(x.value()).muli(x.value()).muli(3)), x);
 * }
 * }</pre>
 */
public final class Tape {
    private Tape() {}

    /** True when an op on these inputs will be recorded (grad mode on and some input needs a gradient). */
    public static boolean isRecording(Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    /** Wraps {@code value} as the output of {@code op}; records the backward when any input needs a gradient. */
    public static Tensor record(String op, INDArray value, Backward backward, Tensor... inputs) {
        return record(op, value, null, backward, inputs);
    }

    /**
     * As {@link #record(String, INDArray, Backward, Tensor...)}, for a backward that also reads arrays that
     * are not input values ({@code saved}): they are freed when the graph is released.
     */
    public static Tensor record(String op, INDArray value, INDArray[] saved, Backward backward, Tensor... inputs) {
        AnomalyMode.check(op, value, false);
        boolean owns = true;
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] == null) {
                throw new IllegalArgumentException(op + ": input " + i + " is null");
            }
            owns &= !Memory.sharesBuffer(value, inputs[i].rawValue());
        }
        if (!isRecording(inputs)) {
            if (saved != null) {
                for (INDArray s : saved) {
                    if (!Memory.sharesBuffer(s, value)) {
                        Memory.release(s);
                    }
                }
            }
            return new Tensor(value, owns, null);
        }
        for (Tensor t : inputs) {
            t.value();   // fails with a clear message if an input was already released
        }
        boolean savesOutput = false;
        for (int i = 0; saved != null && i < saved.length; i++) {
            savesOutput |= Memory.sharesBuffer(saved[i], value);
        }
        return new Tensor(value, owns, new Node(op, inputs.clone(), saved, savesOutput, backward));
    }
}
