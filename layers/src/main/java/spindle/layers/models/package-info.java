// SPDX-License-Identifier: Apache-2.0
/**
 * Decoder-only causal language models built from a Hugging Face config.json: Llama-style (GQA + SwiGLU) and
 * DeepSeek-V3-style (MLA + DeepSeekMoE), with Hugging Face parameter names, and text generation from them.
 */
package spindle.layers.models;
