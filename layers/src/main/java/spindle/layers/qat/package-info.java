// SPDX-License-Identifier: Apache-2.0
/**
 * Quantization-aware training with torchao's fake-quantization numerics: differentiable fake quantizers
 * ({@link spindle.layers.qat.FakeQuant}: round half to even with a straight-through gradient, zero gradient
 * where the clamp clamps, scales recomputed at every forward), the schemes ({@link spindle.layers.qat.QatScheme}:
 * 8da4w, int4 weight-only, int8 weight-only) and {@link spindle.layers.qat.QatLinear}, a fake-quantized linear
 * that keeps the plain {@code weight} / {@code bias} checkpoint names. {@link spindle.layers.qat.QatConvert} writes
 * the quantized model (int8 codes, scales, zeros; torchao's convert step) and
 * {@link spindle.layers.qat.QuantizedModels} loads it into {@link spindle.layers.qat.QuantizedLinear}s for inference.
 * {@link spindle.layers.qat.QatLoraModels} builds torchtune's QAT + LoRA (a fake-quantized frozen base under float
 * adapters), and {@link spindle.layers.qat.FakeQuantSwitch} turns a model's fake quantization off and on (torchtune's
 * fake_quant_after_n_steps, see {@code spindle.trainers.FakeQuantAfterSteps}).
 */
package spindle.layers.qat;
