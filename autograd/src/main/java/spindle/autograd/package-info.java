// SPDX-License-Identifier: Apache-2.0
/**
 * The autograd core: {@link spindle.autograd.Tensor} (an ND4J value, an optional gradient and the tape
 * node that made it), the define-by-run tape, grad-mode scopes and {@link spindle.autograd.GradCheck}.
 * Differentiable ops live in {@code spindle.autograd.ops}; users define their own through {@link spindle.autograd.Tape#record}.
 */
package spindle.autograd;
