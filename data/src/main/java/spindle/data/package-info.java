// SPDX-License-Identifier: Apache-2.0
/**
 * Datasets and their loader: memory-mapped token files, language-model windows, CSV tables, JSONL
 * prompt/response pairs with prompt masking, and a seeded, resumable, shardable {@link spindle.data.DataLoader}.
 * Shapes use B = batch, T = sequence length, F = features; tokenizers live in {@code spindle.data.tokenizer}.
 */
package spindle.data;
