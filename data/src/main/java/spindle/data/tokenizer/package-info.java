// SPDX-License-Identifier: Apache-2.0
/**
 * Tokenizers behind one {@link spindle.data.tokenizer.Tokenizer} interface: bytes, characters, byte-level
 * BPE (trained here, or GPT-2's own files) and Hugging Face {@code tokenizer.json} through DJL.
 * Ids are ints; special tokens such as {@code <|endoftext|>} have ids of their own.
 */
package spindle.data.tokenizer;
