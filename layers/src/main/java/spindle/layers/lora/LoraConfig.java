// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Hugging Face PEFT's {@code LoraConfig} (the keys of adapter_config.json, in Java case): which linears get
 * an adapter and its shape. Start from {@link #of} and add the optional keys with the {@code with} methods.
 *
 * @param r                 default rank
 * @param loraAlpha         default lora_alpha
 * @param targetModules     target_modules: names, a regex or "all-linear" ({@link TargetModules})
 * @param excludeModules    exclude_modules: names or a regex; a match is never adapted
 * @param layersToTransform layers_to_transform: only these decoder layer indices (empty: all layers)
 * @param layersPattern     layers_pattern: the name of the layer list whose index layers_to_transform reads
 *                          (empty: the first "name.N." segment of the module name, the decoder layer's
 *                          "layers.N"; PEFT's default regex is greedy and would read a routed expert's index)
 * @param rankPattern       rank_pattern: rank by module-name pattern, PEFT's rule ({@link #optionsFor})
 * @param alphaPattern      alpha_pattern: lora_alpha by module-name pattern
 * @param loraDropout       lora_dropout in [0, 1)
 * @param useRslora         use_rslora: scale alpha / sqrt(r)
 * @param useDora           use_dora: weight-decomposed LoRA
 */
public record LoraConfig(int r, double loraAlpha, TargetModules targetModules, TargetModules excludeModules,
                         List<Integer> layersToTransform, List<String> layersPattern, Map<String, Integer> rankPattern,
                         Map<String, Double> alphaPattern, double loraDropout, boolean useRslora, boolean useDora) {
    /** The first ".name.N." of a module name: its decoder layer when layers_pattern is not given. */
    private static final Pattern ANY_LAYER = Pattern.compile("^.*?\\.[^.]*\\.(\\d+)\\.");

    public LoraConfig {
        if (targetModules == null || targetModules.isEmpty()) {
            throw new IllegalArgumentException("target_modules must name at least one module (a list of names, a"
                + " regex, or \"all-linear\")");
        }
        excludeModules = excludeModules == null ? TargetModules.none() : excludeModules;
        if (excludeModules.isAllLinear()) {
            throw new IllegalArgumentException("exclude_modules cannot be \"all-linear\"");
        }
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? List.of() : List.copyOf(layersPattern);
        rankPattern = ordered(rankPattern);
        alphaPattern = ordered(alphaPattern);
        new LoraOptions(r, loraAlpha, useRslora, useDora, loraDropout);   // checks r, lora_alpha, lora_dropout
        for (int layer : layersToTransform) {
            if (layer < 0) {
                throw new IllegalArgumentException("layers_to_transform entries must be >= 0, got " + layersToTransform);
            }
        }
        if (targetModules.isRegex() && (!layersToTransform.isEmpty() || !layersPattern.isEmpty())) {
            throw new IllegalArgumentException("layers_to_transform and layers_pattern cannot be used when"
                + " target_modules is a regex string (PEFT's rule); put the layer into the regex");
        }
        if (!layersPattern.isEmpty() && layersToTransform.isEmpty()) {
            throw new IllegalArgumentException("layers_pattern is given without layers_to_transform");
        }
        rankPattern.forEach((key, rank) -> {
            compile(key, "rank_pattern");
            if (rank == null || rank <= 0) {
                throw new IllegalArgumentException("rank_pattern['" + key + "'] must be a positive rank, got " + rank);
            }
        });
        alphaPattern.forEach((key, alpha) -> {
            compile(key, "alpha_pattern");
            if (alpha == null || !Double.isFinite(alpha)) {
                throw new IllegalArgumentException("alpha_pattern['" + key + "'] must be finite, got " + alpha);
            }
        });
    }

    /** PEFT's defaults for everything but r, lora_alpha and target_modules. */
    public static LoraConfig of(int r, double loraAlpha, TargetModules targetModules) {
        return new LoraConfig(r, loraAlpha, targetModules, TargetModules.none(), List.of(), List.of(), Map.of(),
            Map.of(), 0, false, false);
    }

    public LoraConfig withExcludeModules(TargetModules exclude) {
        return new LoraConfig(r, loraAlpha, targetModules, exclude, layersToTransform, layersPattern, rankPattern,
            alphaPattern, loraDropout, useRslora, useDora);
    }

    public LoraConfig withLayersToTransform(List<Integer> layers) {
        return new LoraConfig(r, loraAlpha, targetModules, excludeModules, layers, layersPattern, rankPattern,
            alphaPattern, loraDropout, useRslora, useDora);
    }

    public LoraConfig withLayersPattern(List<String> pattern) {
        return new LoraConfig(r, loraAlpha, targetModules, excludeModules, layersToTransform, pattern, rankPattern,
            alphaPattern, loraDropout, useRslora, useDora);
    }

    /** rank_pattern; keys are tried in the map's iteration order (use a LinkedHashMap for several). */
    public LoraConfig withRankPattern(Map<String, Integer> ranks) {
        return new LoraConfig(r, loraAlpha, targetModules, excludeModules, layersToTransform, layersPattern, ranks,
            alphaPattern, loraDropout, useRslora, useDora);
    }

    /** alpha_pattern; keys are tried in the map's iteration order. */
    public LoraConfig withAlphaPattern(Map<String, Double> alphas) {
        return new LoraConfig(r, loraAlpha, targetModules, excludeModules, layersToTransform, layersPattern,
            rankPattern, alphas, loraDropout, useRslora, useDora);
    }

    public LoraConfig withDropout(double p) {
        return new LoraConfig(r, loraAlpha, targetModules, excludeModules, layersToTransform, layersPattern,
            rankPattern, alphaPattern, p, useRslora, useDora);
    }

    public LoraConfig withRslora(boolean rs) {
        return new LoraConfig(r, loraAlpha, targetModules, excludeModules, layersToTransform, layersPattern,
            rankPattern, alphaPattern, loraDropout, rs, useDora);
    }

    public LoraConfig withDora(boolean dora) {
        return new LoraConfig(r, loraAlpha, targetModules, excludeModules, layersToTransform, layersPattern,
            rankPattern, alphaPattern, loraDropout, useRslora, dora);
    }

    /**
     * Whether the linear {@code fullName} gets an adapter, by PEFT's rules: not excluded, matched by
     * target_modules, and (for a list of names) in one of layers_to_transform.
     */
    public boolean targets(String fullName) {
        if (excludeModules.matches(fullName) || !targetModules.matches(fullName)) {
            return false;
        }
        if (targetModules.isRegex() || layersToTransform.isEmpty() || targetModules.entries().contains(fullName)) {
            return true;   // PEFT reads layers_to_transform only for names matched by suffix
        }
        OptionalInt layer = layerIndex(fullName);
        return layer.isPresent() && layersToTransform.contains(layer.getAsInt());
    }

    /**
     * The adapter of the module {@code fullName}: r and lora_alpha from the first rank_pattern / alpha_pattern
     * key (in order) that the name equals or ends with after a dot, the key read as a regex (PEFT's
     * {@code get_pattern_key}); else the defaults.
     */
    public LoraOptions optionsFor(String fullName) {
        Integer rank = rankPattern.get(patternKey(rankPattern, fullName));
        Double alpha = alphaPattern.get(patternKey(alphaPattern, fullName));
        return new LoraOptions(rank == null ? r : rank, alpha == null ? loraAlpha : alpha, useRslora, useDora,
            loraDropout);
    }

    /** The decoder layer index layers_to_transform compares, or empty when the name has none. */
    public OptionalInt layerIndex(String fullName) {
        if (layersPattern.isEmpty()) {
            return group(ANY_LAYER.matcher(fullName));
        }
        for (String p : layersPattern) {
            OptionalInt i = group(Pattern.compile("^.*\\." + p + "\\.(\\d+)\\.").matcher(fullName));
            if (i.isPresent()) {
                return i;
            }
        }
        return OptionalInt.empty();
    }

    private static OptionalInt group(Matcher m) {
        return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    }

    private static String patternKey(Map<String, ?> patterns, String fullName) {
        for (String key : patterns.keySet()) {
            if (Pattern.compile("(.*\\.)?(" + key + ")").matcher(fullName).matches()) {
                return key;
            }
        }
        return fullName;
    }

    private static void compile(String key, String what) {
        try {
            Pattern.compile(key);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(what + " key '" + key + "' is not a valid regex: " + e.getDescription(), e);
        }
    }

    private static <V> Map<String, V> ordered(Map<String, V> m) {
        return m == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }
}
