// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.ops.Widening;
import spindle.layers.Init;
import spindle.layers.Module;

/**
 * A LoRA model's frozen base kept in a 16-bit dtype (bf16) while it computes in float32, as a PEFT user loads a
 * base with {@code torch_dtype=torch.bfloat16} to halve its memory. The base's weight matrices (every parameter an
 * {@link Init} fills: projections, experts, embeddings, the router) are created in the 16-bit dtype one at a
 * time, so no float32 copy of the base ever exists; norms and biases stay float32 (a vector per layer, a
 * negligible share); the adapters stay float32 and are the only trained parameters. Products widen the weights
 * exactly, so losses and gradients equal those of the same bf16 file loaded into float32.
 */
public final class FrozenBase {
    private FrozenBase() {}

    /**
     * A base storage dtype by torch's name: float32 (fp32) or bfloat16 (bf16). Any other value is an error naming
     * {@code key} (the config key or option it came from).
     */
    public static DataType parse(String name, String key) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "float32", "fp32" -> DataType.FLOAT;
            case "bfloat16", "bf16" -> DataType.BFLOAT16;
            default -> throw new IllegalArgumentException(key + " must be float32 or bfloat16, got '" + name + "'");
        };
    }

    /**
     * Checks the pair: {@code baseDtype} equal to {@code dtype}, or BFLOAT16 / HALF with float32 compute. Errors name
     * both dtypes.
     */
    static void checkDtypes(DataType dtype, DataType baseDtype) {
        if (baseDtype != dtype && !(Widening.isNarrow(baseDtype) && dtype == DataType.FLOAT)) {
            throw new IllegalArgumentException("a LoRA base stored in " + baseDtype + " computes in FLOAT (each frozen"
                + " weight widened for its product), not in " + dtype + "; store it in " + dtype + " or compute in FLOAT");
        }
    }

    /** {@code init}'s values, each parameter created in {@code dtype} and rounded into {@code baseDtype} at once. */
    static Init storedIn(DataType baseDtype, Init init) {
        return (dtype, shape) -> {
            INDArray values = init.create(dtype, shape);
            if (values.dataType() == baseDtype) {
                return values;
            }
            INDArray stored = values.castTo(baseDtype);
            values.close();
            return stored;
        };
    }

    /** An error naming the first parameter that is stored in 16 bits yet trainable: only frozen weights may be. */
    static void requireFrozen(Module model) {
        model.namedParameters().forEach((name, p) -> {
            if (Widening.isNarrow(p.dtype()) && p.requiresGrad()) {
                throw new IllegalStateException("parameter " + name + " is " + p.dtype() + " and trainable; a 16-bit"
                    + " parameter can only be a frozen base weight, trained parameters stay FLOAT");
            }
        });
    }
}
