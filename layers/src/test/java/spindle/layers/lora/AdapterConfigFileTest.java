// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** adapter_config.json: PEFT's keys sorted, what torch_ref.py export --lora writes, a round trip, and errors. */
class AdapterConfigFileTest {
    /** What torch_ref.py's peft_config writes for tiny-llama's "lora" section (json.dump, indent 2, sorted). */
    static final String TORCH_REF = """
        {
          "alpha_pattern": {},
          "base_model_name_or_path": "tiny-llama",
          "bias": "none",
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": true,
          "layers_pattern": null,
          "layers_to_transform": null,
          "lora_alpha": 16,
          "lora_dropout": 0.0,
          "modules_to_save": null,
          "peft_type": "LORA",
          "r": 8,
          "rank_pattern": {},
          "target_modules": [
            "q_proj",
            "v_proj"
          ],
          "task_type": "CAUSAL_LM",
          "use_dora": false,
          "use_rslora": false
        }""";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void readsWhatTorchRefWrites() throws IOException {
        Path file = Files.writeString(dir.resolve(AdapterConfigFile.FILE), TORCH_REF);
        LoraConfig c = AdapterConfigFile.read(file);
        assertEquals(8, c.r());
        assertEquals(16.0, c.loraAlpha());
        assertEquals(List.of("q_proj", "v_proj"), c.targetModules().entries());
        assertFalse(c.useDora() || c.useRslora() || c.targetModules().isRegex() || c.targetModules().isAllLinear());
        assertEquals(0.0, c.loraDropout());
        assertEquals(Optional.of("tiny-llama"), AdapterConfigFile.baseModel(file));
    }

    @Test
    void writesTheSameKeysAndValuesAsPeftSorted() throws IOException {
        Path file = dir.resolve(AdapterConfigFile.FILE);
        AdapterConfigFile.write(file, LoraConfig.of(8, 16, TargetModules.names("q_proj", "v_proj")), "tiny-llama");
        assertEquals(JSON.readTree(TORCH_REF), JSON.readTree(file.toFile()));
        List<String> keys = new ArrayList<>();
        JSON.readTree(file.toFile()).fieldNames().forEachRemaining(keys::add);
        assertEquals(keys.stream().sorted().toList(), keys, "keys in sorted order");
    }

    @Test
    void everyKeyRoundTrips() throws IOException {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("q_proj", 4);
        ranks.put("layers\\.1\\..*", 2);
        LoraConfig c = LoraConfig.of(8, 12.5, TargetModules.names("q_proj", "o_proj", "gate_proj"))
            .withExcludeModules(TargetModules.regex(".*layers\\.3\\..*"))
            .withLayersToTransform(List.of(0, 2)).withLayersPattern(List.of("layers"))
            .withRankPattern(ranks).withAlphaPattern(Map.of("o_proj", 3.0))
            .withDropout(0.1).withRslora(true).withDora(true);
        Path first = dir.resolve("a").resolve(AdapterConfigFile.FILE);
        AdapterConfigFile.write(first, c, null);
        LoraConfig read = AdapterConfigFile.read(first);
        assertEquals(List.of(0, 2), read.layersToTransform());
        assertEquals(List.of("layers"), read.layersPattern());
        assertEquals(ranks, read.rankPattern());
        assertEquals(List.of("layers\\.1\\..*", "q_proj"), List.copyOf(read.rankPattern().keySet()),
            "pattern keys sorted, as PEFT's json.dumps(sort_keys=True) leaves them");
        assertEquals(Map.of("o_proj", 3.0), read.alphaPattern());
        assertEquals(".*layers\\.3\\..*", read.excludeModules().toJson());
        assertEquals(12.5, read.loraAlpha());
        assertEquals(0.1, read.loraDropout());
        assertTrue(read.useRslora() && read.useDora());
        Path second = dir.resolve("b").resolve(AdapterConfigFile.FILE);
        AdapterConfigFile.write(second, read, null);
        assertEquals(Files.readString(first), Files.readString(second));
        assertEquals(Optional.empty(), AdapterConfigFile.baseModel(second));
    }

    @Test
    void regexAndAllLinearTargetsAreStrings() throws IOException {
        for (TargetModules t : List.of(TargetModules.allLinear(), TargetModules.regex(".*\\.(q|v)_proj"))) {
            Path file = dir.resolve(AdapterConfigFile.FILE);
            AdapterConfigFile.write(file, LoraConfig.of(4, 8, t), null);
            assertEquals(t.toJson(), JSON.readTree(file.toFile()).get("target_modules").asText());
            assertEquals(t.toJson(), AdapterConfigFile.read(file).targetModules().toJson());
        }
    }

    @Test
    void errorsNameTheKey() throws IOException {
        assertError(TORCH_REF.replace("\"r\": 8,", ""), "r is missing");
        assertError(TORCH_REF.replace("\"r\": 8", "\"r\": \"eight\""), "r must be a positive integer, got \"eight\"");
        assertError(TORCH_REF.replace("\"lora_alpha\": 16", "\"lora_alpha\": true"), "lora_alpha must be a number");
        assertError(TORCH_REF.replace("\"bias\": \"none\"", "\"bias\": \"all\""), "bias is \"all\": only bias \"none\"");
        assertError(TORCH_REF.replace("\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]"),
            "modules_to_save is [\"lm_head\"]");
        assertError(TORCH_REF.replace("\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\""), "only LORA adapters");
        assertError(TORCH_REF.replaceAll("\"target_modules\": \\[[^]]*]", "\"target_modules\": null"),
            "target_modules is null");
        assertError(TORCH_REF.replace("\"use_dora\": false", "\"use_dora\": 1"), "use_dora must be true or false");
        assertError("[1, 2]", "must hold a JSON object");
        String missing = assertThrows(IllegalArgumentException.class,
            () -> AdapterConfigFile.read(dir.resolve("nope.json"))).getMessage();
        assertTrue(missing.contains("nope.json does not exist"), missing);
    }

    private void assertError(String json, String expected) throws IOException {
        Path file = Files.writeString(dir.resolve(AdapterConfigFile.FILE), json);
        String msg = assertThrows(IllegalArgumentException.class, () -> AdapterConfigFile.read(file)).getMessage();
        assertTrue(msg.contains(expected) && msg.contains(file.toString()), msg);
    }
}
