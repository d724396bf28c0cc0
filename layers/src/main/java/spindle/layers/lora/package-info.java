// SPDX-License-Identifier: Apache-2.0
/**
 * Low-rank adapters with Hugging Face PEFT's numerics and state names: {@link spindle.layers.lora.LoraLinear}
 * wraps a frozen linear with a LoRA, rsLoRA or DoRA update ({@link spindle.layers.lora.LoraOptions}) and
 * merges it into, or takes it back out of, the base weight.
 */
package spindle.layers.lora;
