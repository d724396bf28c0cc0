// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

/** Which channels of a head RoPE rotates together; each pair (a, b) turns by the same angle. */
public enum RopeLayout {
    /** Hugging Face Llama / DeepSeek: channel i is paired with channel i + D/2, angle index i mod D/2. */
    ROTATE_HALF,
    /** Meta's original and GPT-J: channels (2i, 2i+1) form pair i, angle index i. */
    INTERLEAVED
}
