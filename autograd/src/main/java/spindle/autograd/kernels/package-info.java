// SPDX-License-Identifier: Apache-2.0
/**
 * Java kernels for small tensors: fused forward and backward passes of the hot ops (RMSNorm, RoPE, SwiGLU,
 * softmax, cross-entropy) that run on the arrays' own buffers instead of through ND4J, whose fixed cost of
 * tens of microseconds per op dominates below a few tens of thousands of elements. {@link
 * spindle.autograd.kernels.SmallKernels} decides which path an op takes; the ops in spindle.autograd.ops call
 * these kernels and keep their ND4J path for larger or oddly laid-out arrays.
 */
package spindle.autograd.kernels;
