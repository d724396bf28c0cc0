// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** PEFT's target rules (list, regex, all-linear, exclude, layers), rank/alpha patterns and LoraConfig's errors. */
class LoraConfigTest {
    static final String Q0 = "model.layers.0.self_attn.q_proj";
    static final String Q1 = "model.layers.1.self_attn.q_proj";
    static final String EXPERT = "model.layers.1.mlp.experts.3.up_proj";

    static LoraConfig names(String... targets) {
        return LoraConfig.of(8, 16, TargetModules.names(targets));
    }

    static void assertError(String fragment, Executable build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void aListEntryMatchesTheWholeNameOrASuffixAfterADot() {
        LoraConfig c = names("q_proj", "model.layers.1.mlp.experts.3.up_proj");
        assertTrue(c.targets(Q0));
        assertTrue(c.targets(EXPERT));
        assertFalse(c.targets("model.layers.0.self_attn.xq_proj"), "a suffix must follow a dot");
        assertFalse(c.targets("model.layers.1.mlp.experts.2.up_proj"));
        assertTrue(names("self_attn.q_proj").targets(Q1), "a dotted entry is a suffix too");
        assertTrue(names("q_proj").targets("q_proj"), "equal to the whole name");
    }

    @Test
    void aStringIsARegexOverTheWholeName() {
        LoraConfig c = LoraConfig.of(8, 16, TargetModules.regex("model\\.layers\\.0\\..*_proj"));
        assertTrue(c.targets(Q0));
        assertFalse(c.targets(Q1));
        assertFalse(LoraConfig.of(8, 16, TargetModules.regex("q_proj")).targets(Q0), "fullmatch, not search");
    }

    @Test
    void allLinearIsEveryLinearButTheHead() {
        LoraConfig c = LoraConfig.of(8, 16, TargetModules.parse("ALL-LINEAR", "target_modules"));
        assertTrue(c.targetModules().isAllLinear());
        assertTrue(c.targets(Q0));
        assertTrue(c.targets(EXPERT));
        assertFalse(c.targets("lm_head"));
    }

    @Test
    void excludeModulesWinsAsAListOrARegex() {
        LoraConfig list = names("q_proj", "up_proj").withExcludeModules(TargetModules.names("experts.3.up_proj"));
        assertTrue(list.targets(Q0));
        assertFalse(list.targets(EXPERT));
        assertTrue(list.targets("model.layers.1.mlp.experts.2.up_proj"));
        LoraConfig regex = names("q_proj").withExcludeModules(TargetModules.regex(".*layers\\.1\\..*"));
        assertTrue(regex.targets(Q0));
        assertFalse(regex.targets(Q1));
    }

    @Test
    void layersToTransformReadsTheDecoderLayerNotTheExpertIndex() {
        LoraConfig c = names("q_proj", "up_proj").withLayersToTransform(List.of(1));
        assertFalse(c.targets(Q0));
        assertTrue(c.targets(Q1));
        assertTrue(c.targets(EXPERT));
        assertFalse(names("up_proj").withLayersToTransform(List.of(3)).targets(EXPERT), "3 is the expert");
        assertEquals(OptionalInt.of(1), c.layerIndex(EXPERT));
        assertFalse(c.targets("lm_head"), "no layer index, no match");
        LoraConfig byPattern = names("up_proj").withLayersToTransform(List.of(3)).withLayersPattern(List.of("experts"));
        assertTrue(byPattern.targets(EXPERT), "layers_pattern names the list whose index counts");
    }

    @Test
    void rankAndAlphaPatternsFollowPeftsFirstMatchingKey() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("layers\\.1\\.self_attn\\.q_proj", 2);
        ranks.put("q_proj", 4);
        LoraConfig c = names("q_proj", "up_proj").withRankPattern(ranks).withAlphaPattern(Map.of("up_proj", 3.0));
        assertEquals(4, c.optionsFor(Q0).r());
        assertEquals(2, c.optionsFor(Q1).r());
        assertEquals(16, c.optionsFor(Q1).alpha(), 0);
        assertEquals(8, c.optionsFor(EXPERT).r());
        assertEquals(3, c.optionsFor(EXPERT).alpha(), 0);
        assertEquals(8, c.optionsFor("model.layers.0.self_attn.xq_proj").r(), "a key matches after a dot only");
        LoraOptions o = names("q_proj").withDropout(0.1).withRslora(true).withDora(true).optionsFor(Q0);
        assertEquals(new LoraOptions(8, 16, true, true, 0.1), o);
    }

    @Test
    void badValuesAreErrorsNamingTheKey() {
        assertError("lora r", () -> LoraConfig.of(0, 16, TargetModules.names("q_proj")));
        assertError("lora_alpha", () -> LoraConfig.of(8, Double.NaN, TargetModules.names("q_proj")));
        assertError("lora_dropout", () -> names("q_proj").withDropout(1.0));
        assertError("target_modules", () -> LoraConfig.of(8, 16, TargetModules.names()));
        assertError("target_modules", () -> LoraConfig.of(8, 16, null));
        assertError("does not compile", () -> TargetModules.regex("q_proj("));
        assertError("layers_to_transform", () -> LoraConfig.of(8, 16, TargetModules.regex(".*q_proj"))
            .withLayersToTransform(List.of(0)));
        assertError("layers_to_transform entries", () -> names("q_proj").withLayersToTransform(List.of(-1)));
        assertError("layers_pattern", () -> names("q_proj").withLayersPattern(List.of("layers")));
        assertError("exclude_modules", () -> names("q_proj").withExcludeModules(TargetModules.allLinear()));
        assertError("rank_pattern['q_proj']", () -> names("q_proj").withRankPattern(Map.of("q_proj", 0)));
        assertError("alpha_pattern", () -> names("q_proj").withAlphaPattern(Map.of("q_proj(", 2.0)));
        assertError("target_modules must be a string or a list", () -> TargetModules.parse(3, "target_modules"));
    }

    @Test
    void jsonValuesRoundTrip() {
        assertEquals(List.of("q_proj", "v_proj"), TargetModules.parse(List.of("q_proj", "v_proj"), "t").toJson());
        assertEquals(".*q_proj", TargetModules.parse(".*q_proj", "t").toJson());
        assertEquals("all-linear", TargetModules.parse("all-linear", "t").toJson());
        assertTrue(TargetModules.parse(null, "exclude_modules").isEmpty());
    }
}
