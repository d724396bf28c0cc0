// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import spindle.autograd.Tensor;
import spindle.autograd.ops.Linalg;

/**
 * The frozen path of a {@link LoraLinear}: how x meets the base weight W [out, in] (and bias [out], or null).
 * Plain LoRA uses {@link #LINEAR}, x·Wᵀ + b; a QAT-LoRA linear (torchtune's) passes fake quantization of x
 * and W, {@code (x, w, b) -> QatLinear.forward(scheme, groupSize, x, w, b)}, and keeps the update in float.
 */
@FunctionalInterface
public interface BaseProduct {
    /** x·Wᵀ + b. */
    BaseProduct LINEAR = Linalg::linear;

    /** x [..., in] → [..., out]; a null bias adds nothing. */
    Tensor apply(Tensor x, Tensor weight, Tensor bias);
}
