// SPDX-License-Identifier: Apache-2.0
package spindle.data;

/**
 * How {@link PromptDataset} reads and lays out prompt/response pairs. {@link #of} reads fields
 * "prompt" and "response", one padded row per example, no end-of-sequence token.
 *
 * @param maxSeqLen T, the longest row; longer examples lose the end of their response
 * @param layout one example per row (padded in the batch) or examples packed back to back into rows of T
 * @param promptField JSON field of the prompt
 * @param responseField JSON field of the response
 * @param eosToken special token appended to every response (e.g. {@code <|endoftext|>}), or null for none
 * @param responseEnd text appended to every response before it is encoded ("" for none): a stop marker such as
 *                    "\n" for a tokenizer without an end-of-sequence token, so the model learns where answers end
 */
public record PromptOptions(int maxSeqLen, Layout layout, String promptField, String responseField, String eosToken,
                            String responseEnd) {

    /** Row layout. */
    public enum Layout { PADDED, PACKED }

    public PromptOptions {
        if (maxSeqLen < 1) {
            throw new IllegalArgumentException("max_seq_len must be >= 1, got " + maxSeqLen);
        }
        if (layout == null || promptField == null || responseField == null || responseEnd == null) {
            throw new IllegalArgumentException("layout, field names and the response end must not be null");
        }
    }

    /** Fields "prompt" and "response", padded rows of at most {@code maxSeqLen}, no EOS. */
    public static PromptOptions of(int maxSeqLen) {
        return new PromptOptions(maxSeqLen, Layout.PADDED, "prompt", "response", null, "");
    }

    /** Examples packed back to back into rows of exactly maxSeqLen (the last row may be shorter). */
    public PromptOptions packed() {
        return new PromptOptions(maxSeqLen, Layout.PACKED, promptField, responseField, eosToken, responseEnd);
    }

    /** Reads the pair from other JSON fields, e.g. ("instruction", "output"). */
    public PromptOptions withFields(String prompt, String response) {
        return new PromptOptions(maxSeqLen, layout, prompt, response, eosToken, responseEnd);
    }

    /** Appends special token {@code name} to each response, so the model learns to stop. */
    public PromptOptions withEos(String name) {
        return new PromptOptions(maxSeqLen, layout, promptField, responseField, name, responseEnd);
    }

    /** Appends {@code text} to each response before encoding it (e.g. "\n", where the tokenizer has no EOS). */
    public PromptOptions withResponseEnd(String text) {
        return new PromptOptions(maxSeqLen, layout, promptField, responseField, eosToken, text);
    }
}
