// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.Optional;
import spindle.data.HfConfig;

/**
 * A config's {@code rope_scaling}: how Hugging Face stretches RoPE's inverse frequencies for contexts longer than
 * the trained one. "linear" divides every frequency by {@code factor}; "llama3" (Llama 3.1/3.2) divides the low
 * frequencies (wavelength above original / low_freq_factor), keeps the high ones (below original /
 * high_freq_factor) and blends in between. Every step is float32 arithmetic in transformers' order, so the tables
 * equal torch's.
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
    /** The scaling kinds Spindle computes; any other rope_type is an error naming it. */
    public enum Type { NONE, LINEAR, LLAMA3 }

    /** No scaling (rope_scaling absent, null, or rope_type "default"). */
    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0, 0);

    public RopeScaling {
        if (type == null) {
            throw new IllegalArgumentException("rope_scaling: the type must not be null");
        }
        if (type != Type.NONE && !(factor >= 1) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("rope_scaling.factor must be a finite number >= 1 but is " + factor);
        }
        if (type == Type.LLAMA3) {
            if (!(highFreqFactor > lowFreqFactor) || !(lowFreqFactor > 0) || Double.isInfinite(highFreqFactor)) {
                throw new IllegalArgumentException("rope_scaling.high_freq_factor (" + highFreqFactor + ") must be"
                    + " above rope_scaling.low_freq_factor (" + lowFreqFactor + "), both positive and finite");
            }
            Check.positive(originalMaxPositions, "rope_scaling.original_max_position_embeddings");
        }
    }

    /** Linear scaling: every frequency divided by {@code factor}. */
    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    /** Llama 3's frequency-dependent scaling. */
    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }

    /**
     * The config's rope_scaling (its rope_type, or the older key type): absent, null or "default" is {@link #NONE};
     * a type Spindle does not compute ("dynamic", "yarn", "longrope") is an error naming the key and the value.
     */
    public static RopeScaling fromHfConfig(HfConfig config) {
        Optional<HfConfig> section = config.section("rope_scaling");
        if (section.isEmpty()) {
            return NONE;
        }
        HfConfig s = section.get();
        String type = s.has("rope_type") ? s.string("rope_type") : s.string("type", "default");
        return switch (type) {
            case "default" -> NONE;
            case "linear" -> linear(s.real("factor"));
            case "llama3" -> llama3(s.real("factor"), s.real("low_freq_factor"), s.real("high_freq_factor"),
                s.positiveInteger("original_max_position_embeddings"));
            default -> throw new IllegalArgumentException("rope_scaling.rope_type \"" + type + "\" is not supported"
                + " (Spindle computes \"linear\" and \"llama3\"); its positions would be wrong, so the model is refused");
        };
    }

    /** The scaled inverse frequencies, float32 step by step as transformers computes them. */
    float[] apply(float[] inv) {
        float[] out = inv.clone();
        float f = (float) factor;
        if (type == Type.LINEAR) {
            for (int i = 0; i < out.length; i++) {
                out[i] = inv[i] / f;
            }
        } else if (type == Type.LLAMA3) {
            // torch turns each Python scalar into a float32 before the op; "a / t" is reciprocal(t) * a
            float lowWavelen = (float) (originalMaxPositions / lowFreqFactor);
            float highWavelen = (float) (originalMaxPositions / highFreqFactor);
            float twoPi = (float) (2 * Math.PI);
            for (int i = 0; i < out.length; i++) {
                float wavelen = (1.0f / inv[i]) * twoPi;
                float kept = wavelen > lowWavelen ? inv[i] / f : inv[i];
                float smooth = ((1.0f / wavelen) * (float) originalMaxPositions - (float) lowFreqFactor)
                    / (float) (highFreqFactor - lowFreqFactor);
                float smoothed = (1 - smooth) * kept / f + smooth * kept;
                boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
                out[i] = medium ? smoothed : kept;
            }
        }
        return out;
    }
}
