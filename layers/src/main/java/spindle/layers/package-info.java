// SPDX-License-Identifier: Apache-2.0
/**
 * Modules: a tree of named parameters and buffers with Hugging Face checkpoint names, and the layers
 * built on it (Linear, Embedding, norms, positions, feed-forward); attention, MoE and models have packages of their own.
 */
package spindle.layers;
