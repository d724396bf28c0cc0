// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;
import spindle.layers.lora.LoraLinear;
import spindle.layers.qat.QatBaseProduct;
import spindle.layers.qat.QatLinear;
import spindle.layers.qat.QatScheme;
import spindle.recipes.Spindle;

/**
 * {@code bench --qat}: the config's "qat" section prepares the model, and PyTorch's side runs with --qat too; with
 * --lora, QAT-LoRA's model on both sides.
 */
class QatBenchTest {
    private static final String MODEL = "\"model_type\": \"llama\", \"vocab_size\": 32, \"hidden_size\": 16,"
        + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        + " \"intermediate_size\": 24, \"max_position_embeddings\": 16";

    @TempDir
    Path dir;

    @Test
    void theQatSectionPreparesEveryProjectionItsGroupDivides() throws Exception {
        CausalLm model = model("{" + MODEL + ", \"qat\": {\"scheme\": \"int4wo\", \"group_size\": 8}}");
        var qat = model.namedModules().values().stream().filter(m -> m instanceof QatLinear)
            .map(m -> (QatLinear) m).toList();
        assertEquals(8, qat.size(), "q, k, v, o, gate, up, down (24 is a multiple of 8) and lm_head");
        assertTrue(qat.stream().allMatch(l -> l.scheme() == QatScheme.INT4_WEIGHT_ONLY && l.groupSize() == 8));
        String msg = assertThrows(IllegalArgumentException.class,
            () -> model("{" + MODEL + ", \"qat\": {\"scheme\": \"int3\"}}")).getMessage();
        assertTrue(msg.contains("qat.scheme") && msg.contains("int3") && msg.contains("bench.json"), msg);
    }

    @Test
    void compareRunsPyTorchsBenchWithQat() throws Exception {
        Path config = dir.resolve("tiny.json");
        Files.writeString(config, "{" + MODEL + ", \"train\": {\"batch\": 2, \"seq\": 8, \"warmup\": 1, \"steps\": 2,"
            + " \"threads\": 1}}");
        Path fakeTorchRef = dir.resolve("torch_ref.py");   // answers only when asked for the QAT bench
        Files.writeString(fakeTorchRef, "import sys\nassert sys.argv[1:] == ['bench', sys.argv[2], '--qat'], sys.argv\n"
            + "print('{\"impl\": \"pytorch\", \"tokens_per_s\": 100.0}')\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Spindle.commandLine().execute("bench", "--config", config.toString(), "--qat", "--compare",
                "--torch-ref", fakeTorchRef.toString(), "--replicas", "1"));
        } finally {
            System.setOut(stdout);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("\"config\": \"tiny.json --qat\"") && printed.contains("tokens_per_s_ratio"), printed);
    }

    @Test
    void qatWithLoraTrainsOnlyAdaptersWhoseFrozenBaseIsFakeQuantized() throws Exception {
        Path file = dir.resolve("bench.json");
        Files.writeString(file, "{" + MODEL + ", \"qat\": {\"scheme\": \"8da4w\", \"group_size\": 8},"
            + " \"lora\": {\"targets\": [\"q_proj\", \"v_proj\"], \"r\": 2, \"alpha\": 4}}");
        CausalLm model = QatBench.loraModel(HfConfig.read(file), new ObjectMapper().readTree(file.toFile()), 0, file);
        var adapters = model.namedModules().entrySet().stream().filter(e -> e.getValue() instanceof LoraLinear).toList();
        assertEquals(2, adapters.size(), adapters.toString());
        assertTrue(adapters.stream().allMatch(e -> ((LoraLinear) e.getValue()).product() instanceof QatBaseProduct));
        long qat = model.namedModules().values().stream().filter(m -> m instanceof QatLinear).count();
        assertEquals(6, qat, "k, o, gate, up, down and lm_head stay QAT linears");
        assertTrue(model.namedParameters().entrySet().stream().filter(e -> e.getValue().requiresGrad())
            .allMatch(e -> e.getKey().contains("lora_")), "only the adapters train");
    }

    @Test
    void compareRunsPyTorchsBenchWithQatAndLora() throws Exception {
        Path config = dir.resolve("tiny.json");
        Files.writeString(config, "{" + MODEL + ", \"lora\": {\"targets\": [\"q_proj\"], \"r\": 2, \"alpha\": 4},"
            + " \"train\": {\"batch\": 2, \"seq\": 8, \"warmup\": 1, \"steps\": 2, \"threads\": 1}}");
        Path fakeTorchRef = dir.resolve("torch_ref.py");   // answers only when asked for the QAT-LoRA bench
        Files.writeString(fakeTorchRef, "import sys\nassert sys.argv[1:] == ['bench', sys.argv[2], '--qat', '--lora'],"
            + " sys.argv\nprint('{\"impl\": \"pytorch\", \"tokens_per_s\": 100.0}')\n");
        String printed = run("bench", "--config", config.toString(), "--qat", "--lora", "--compare", "--torch-ref",
            fakeTorchRef.toString(), "--replicas", "1");
        assertTrue(printed.contains("\"config\": \"tiny.json --qat --lora\"") && printed.contains("tokens_per_s_ratio"),
            printed);
    }

    private static String run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Spindle.commandLine().execute(args));
        } finally {
            System.setOut(stdout);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private CausalLm model(String json) throws Exception {
        Path file = dir.resolve("bench.json");
        Files.writeString(file, json);
        return QatBench.model(HfConfig.read(file), new ObjectMapper().readTree(file.toFile()), 0, file);
    }
}
