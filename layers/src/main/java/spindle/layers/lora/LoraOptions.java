// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

/**
 * The shape of one adapter, as PEFT's {@code LoraConfig}: rank {@code r}, {@code lora_alpha}, {@code use_rslora}
 * and {@code use_dora}. Dropout is not supported yet (PEFT's default, 0).
 *
 * @param r        the rank: A is [r, in], B is [out, r]
 * @param alpha    lora_alpha, the numerator of the scale
 * @param rsLora   rank-stabilised scale alpha / sqrt(r) instead of alpha / r
 * @param dora     weight-decomposed LoRA: a trained magnitude per output row
 */
public record LoraOptions(int r, double alpha, boolean rsLora, boolean dora) {
    public LoraOptions {
        if (r <= 0) {
            throw new IllegalArgumentException("lora r must be positive, got " + r);
        }
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("lora alpha must be finite, got " + alpha);
        }
    }

    /** Plain LoRA with rank r and alpha. */
    public static LoraOptions lora(int r, double alpha) {
        return new LoraOptions(r, alpha, false, false);
    }

    /** The factor s of the update s·B·A: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scale() {
        return rsLora ? alpha / Math.sqrt(r) : alpha / r;
    }
}
