// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.layers.models.CausalLms;

/** {@code spindle finetune model.dtype=bfloat16} on a bf16 base: float32's losses, float32 adapters, bf16 merge. */
class FinetuneBf16BaseTest {
    private static final String TINY = """
        {"model_type": "llama", "vocab_size": 256, "hidden_size": 32, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64, "rms_norm_eps": 1e-5,
         "max_position_embeddings": 128, "tie_word_embeddings": true, "initializer_range": 0.02}""";

    @TempDir
    Path dir;

    @Test
    void trainsAsFloat32DoesAndMergesInBf16() throws Exception {
        Path base = dir.resolve("base");
        Files.createDirectories(base);
        Files.writeString(base.resolve("config.json"), TINY);
        Map<String, INDArray> bf16 = new LinkedHashMap<>();
        CausalLms.fromHfConfig(HfConfig.parse(TINY, "tiny"), DataType.FLOAT, 3).stateDict()
            .forEach((k, v) -> bf16.put(k, v.castTo(DataType.BFLOAT16)));
        Safetensors.write(base.resolve("model.safetensors"), bf16, null);

        CommandRun f32 = finetune(base, "f32", "model.dtype=float32");
        CommandRun half = finetune(base, "bf16", "model.dtype=bfloat16", "--merge");
        assertEquals(0, f32.exit(), f32.out() + f32.err());
        assertEquals(0, half.exit(), half.out() + half.err());
        assertEquals(losses("f32"), losses("bf16"), "a bf16 base widens exactly: the same losses as float32");

        Safetensors.tensors(dir.resolve("bf16").resolve("adapter").resolve("adapter_model.safetensors"))
            .forEach(t -> assertEquals("F32", t.dtype(), t.name()));
        Map<String, String> merged = new LinkedHashMap<>();
        Safetensors.tensors(dir.resolve("bf16").resolve("merged").resolve("model.safetensors"))
            .forEach(t -> merged.put(t.name(), t.dtype()));
        assertEquals("BF16", merged.get("model.layers.0.self_attn.q_proj.weight"), "merged in the base's dtype");
        assertEquals("BF16", merged.get("model.layers.0.mlp.up_proj.weight"));

        CommandRun bad = finetune(base, "bad", "model.dtype=int8");
        assertNotEquals(0, bad.exit());
        assertTrue(bad.err().contains("model.dtype must be float32 or bfloat16, got 'int8'"), bad.err());
    }

    private CommandRun finetune(Path base, String name, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("finetune", "model.dir=" + base, "data.seq=96",
            "data.batch=4", "train.steps=3", "train.warmup=1", "train.lr=0.01", "train.replicas=1",
            "train.eval_every=0", "checkpoint.every=0", "lora.targets=q_proj,v_proj", "eval.examples=2",
            "eval.max_new_tokens=2", "eval.show=0", "output.dir=" + dir.resolve(name)));
        args.addAll(List.of(extra));
        return CommandRun.of(args.toArray(String[]::new));
    }

    private List<String> losses(String name) throws Exception {
        return Files.readAllLines(dir.resolve(name).resolve("metrics.csv")).stream().skip(1)
            .map(line -> line.split(",")[0] + "," + line.split(",")[1]).toList();
    }
}
