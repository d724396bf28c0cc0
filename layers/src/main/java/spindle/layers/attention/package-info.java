// SPDX-License-Identifier: Apache-2.0
/**
 * Self-attention: multi-head attention with grouped or single key/value heads (MHA, GQA, MQA), DeepSeek's
 * Multi-head Latent Attention, and their inference caches. Shapes: B batch, T tokens, H heads, D head dim.
 */
package spindle.layers.attention;
