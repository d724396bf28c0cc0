// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

/**
 * The shape of one adapter, as PEFT's {@code LoraConfig} gives it to one module: rank {@code r},
 * {@code lora_alpha}, {@code use_rslora}, {@code use_dora} and {@code lora_dropout}.
 *
 * @param r        the rank: A is [r, in], B is [out, r]
 * @param alpha    lora_alpha, the numerator of the scale
 * @param rsLora   rank-stabilised scale alpha / sqrt(r) instead of alpha / r
 * @param dora     weight-decomposed LoRA: a trained magnitude per output row
 * @param dropout  lora_dropout: the probability of zeroing an input element of the update in training mode
 */
public record LoraOptions(int r, double alpha, boolean rsLora, boolean dora, double dropout) {
    public LoraOptions {
        if (r <= 0) {
            throw new IllegalArgumentException("lora r must be positive, got " + r);
        }
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("lora_alpha must be finite, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
        }
    }

    /** Without dropout (PEFT's default). */
    public LoraOptions(int r, double alpha, boolean rsLora, boolean dora) {
        this(r, alpha, rsLora, dora, 0);
    }

    /** Plain LoRA with rank r and alpha. */
    public static LoraOptions lora(int r, double alpha) {
        return new LoraOptions(r, alpha, false, false);
    }

    /** These options with another lora_dropout. */
    public LoraOptions withDropout(double p) {
        return new LoraOptions(r, alpha, rsLora, dora, p);
    }

    /** The factor s of the update s·B·A: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scale() {
        return rsLora ? alpha / Math.sqrt(r) : alpha / r;
    }
}
