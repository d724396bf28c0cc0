// SPDX-License-Identifier: Apache-2.0
/**
 * Fused forward and backward passes of the hot ops (RMSNorm, RoPE, SwiGLU, softmax, cross-entropy, the optimizer's
 * update, fake quantization, a MoE layer's routing and output) on the arrays' own buffers instead of chains of ND4J ops, whose fixed cost of tens of
 * microseconds per op and full-size temporaries dominate. Native kernels ({@link spindle.autograd.kernels.NativeKernels}:
 * C loops built with the module) take float32 arrays of any size; their Java twins compute the same values and run for
 * float64, without the native library, or on layouts the C loops do not read, up to {@link
 * spindle.autograd.kernels.SmallKernels}' size limit. The ops in spindle.autograd.ops keep their ND4J path for the rest.
 * Small float32 matrix products run natively too ({@link spindle.autograd.kernels.NativeGemm}), without a Java twin
 * outside the tests: BLAS takes the others.
 */
package spindle.autograd.kernels;
