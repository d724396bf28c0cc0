// SPDX-License-Identifier: Apache-2.0
/**
 * Modules: a tree of named parameters and buffers with Hugging Face checkpoint names, and the layers built
 * on it: Linear, Embedding, the norms (RmsNorm, LayerNorm), Dropout, positions (Rope, SinusoidalPositions,
 * LearnedPositions) and feed-forwards (Mlp, SwiGlu); LinearFactory (projections by full module name, so LoRA
 * and QAT can replace them) and EffectiveWeight (the weight a linear-like layer applies). Attention, MoE,
 * models, LoRA adapters (lora) and quantization-aware training (qat) have packages of their own.
 */
package spindle.layers;
