// SPDX-License-Identifier: Apache-2.0
/**
 * Low-rank adapters with Hugging Face PEFT's numerics, names and target rules. {@link spindle.layers.lora.LoraLinear}
 * wraps a frozen linear with a LoRA, rsLoRA or DoRA update ({@link spindle.layers.lora.LoraOptions}, with
 * lora_dropout) and merges it into, or takes it back out of, the base weight; its frozen product is pluggable
 * ({@link spindle.layers.lora.BaseProduct}) for QAT-LoRA. {@link spindle.layers.lora.LoraConfig} holds PEFT's
 * adapter_config keys and decides, by full module name, which linears get an adapter and of what rank;
 * {@link spindle.layers.lora.LoraModels} builds or loads a causal LM with adapters on those linears, frozen but
 * for the adapters, as an {@link spindle.layers.lora.AdaptedModel} (merge, merged and base state dicts).
 * {@link spindle.layers.lora.PeftAdapters} reads and writes PEFT's adapter directory: adapter_config.json
 * ({@link spindle.layers.lora.AdapterConfigFile}) and adapter_model.safetensors
 * ({@link spindle.layers.lora.AdapterWeights}).
 */
package spindle.layers.lora;
