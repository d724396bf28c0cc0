// SPDX-License-Identifier: Apache-2.0
/**
 * The differentiable ops, one static method each with its backward lambda right under the forward.
 * Binary ops broadcast as PyTorch does; dims may be negative and count from the end.
 */
package spindle.autograd.ops;
