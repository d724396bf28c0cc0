// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

/** A function of tensors to one tensor, the shape of everything {@link GradCheck} checks. */
@FunctionalInterface
public interface TensorFunction {
    Tensor apply(Tensor[] in);
}
