// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLms;

/**
 * {@code spindle convert} of a QAT-prepared directory and of a plain one (PTQ), then generate and eval from the
 * converted directory: they run quantized linears and give what the fake-quantized model gives.
 */
class ConvertRecipeTest {
    private static final String CONFIG = "{\"model_type\": \"llama\", \"vocab_size\": 256, \"hidden_size\": 32,"
        + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
        + " \"intermediate_size\": 48, \"max_position_embeddings\": 64}";

    @TempDir
    Path dir;

    @Test
    void convertedModelGeneratesAndEvaluatesAsTheFakeQuantizedOne() throws Exception {
        Path prepared = dir.resolve("prepared");
        Path plain = dir.resolve("plain");
        for (Path d : new Path[] {prepared, plain}) {
            Files.createDirectories(d);
            Files.writeString(d.resolve("config.json"), CONFIG);
            StateFiles.save(CausalLms.fromHfConfig(HfConfig.parse(CONFIG, "test"), DataType.FLOAT, 3), d.resolve("model.safetensors"));
        }
        Files.writeString(prepared.resolve("qat.json"), "{\"scheme\": \"8da4w\", \"group_size\": 16}");
        Path converted = dir.resolve("converted");

        CommandRun convert = CommandRun.of("convert", "--model-dir", prepared.toString(), "--out", converted.toString());
        assertEquals(0, convert.exit(), convert.toString());
        assertTrue(convert.out().contains("\"ratio\"") && convert.err().contains("QAT model 8da4w, group_size 16"), convert.toString());

        String[] greedy = {"--prompt", "Call me", "--max-new-tokens", "12", "--temperature", "0"};
        assertEquals(generate(prepared, greedy), generate(converted, greedy), "greedy text, fake-quantized vs converted");
        assertEquals(eval(prepared), eval(converted), "eval loss, fake-quantized vs converted");
        assertNotEquals(eval(plain), eval(converted), "the converted model is not the float one");

        Path ptq = dir.resolve("ptq");
        CommandRun post = CommandRun.of("convert", "--model-dir", plain.toString(), "--out", ptq.toString(),
            "--scheme", "int4wo", "--group-size", "32");
        assertEquals(0, post.exit(), post.toString());
        assertTrue(post.err().contains("plain model (PTQ) int4wo, group_size 32"), post.toString());
        assertTrue(generate(ptq, greedy).startsWith("Call me"));

        CommandRun other = CommandRun.of("convert", "--model-dir", prepared.toString(), "--out", dir.resolve("int8wo").toString(),
            "--scheme", "int8wo");
        assertTrue(other.exit() == 0 && other.err().contains("QAT model int8wo"), "a QAT model converts with another scheme too: " + other);
    }

    @Test
    void aBadConvertedDirectoryIsOneLineNamingTheTensor() throws Exception {
        Path plain = dir.resolve("plain");
        Files.createDirectories(plain);
        Files.writeString(plain.resolve("config.json"), CONFIG);
        StateFiles.save(CausalLms.fromHfConfig(HfConfig.parse(CONFIG, "test"), DataType.FLOAT, 3), plain.resolve("model.safetensors"));
        // a float model that claims to be converted
        Files.writeString(plain.resolve("config.json"), CONFIG.replace("}",
            ", \"quantization_config\": {\"quant_method\": \"spindle_qat\", \"scheme\": \"8da4w\", \"group_size\": 16}}"));
        CommandRun run = CommandRun.of("generate", "--model-dir", plain.toString(), "--max-new-tokens", "2");
        assertEquals(2, run.exit(), run.toString());
        assertTrue(run.oneLineError() && run.err().contains("model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight'"),
            run.toString());
        CommandRun same = CommandRun.of("convert", "--model-dir", plain.toString(), "--out", plain.toString());
        assertTrue(same.exit() == 2 && same.err().contains("--out"), same.toString());
    }

    private static String generate(Path model, String... options) {
        String[] args = new String[3 + options.length];
        args[0] = "generate";
        args[1] = "--model-dir";
        args[2] = model.toString();
        System.arraycopy(options, 0, args, 3, options.length);
        CommandRun run = CommandRun.of(args);
        assertEquals(0, run.exit(), run.toString());
        return run.out();
    }

    private static String eval(Path model) {
        CommandRun run = CommandRun.of("eval", "--model-dir", model.toString(), "--seq", "32", "--batches", "2");
        assertEquals(0, run.exit(), run.toString());
        return run.out();
    }
}
