// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.StateFiles;
import spindle.layers.models.CausalLms;

/** {@code spindle qat}: float, PTQ and QAT losses on the held-out split, QAT + LoRA, and a missing model named. */
class QatRecipeTest {
    @TempDir
    Path dir;

    @Test
    void printsTheThreeLossesAndTheRecoveredShareForQatAndQatLora() throws Exception {
        Path model = tinyPretrainedModel();
        for (String lora : new String[] {"false", "true"}) {
            Path out = dir.resolve("run-" + lora);
            CommandRun run = CommandRun.of("qat", "model.dir=" + model, "output.dir=" + out, "qat.lora=" + lora,
                "qat.group_size=16", "train.steps=3", "train.warmup=0", "train.replicas=1", "data.seq=16",
                "data.batch=4", "eval.batches=2", "qat.fake_quant_after_n_steps=1", "compare.float_finetune=" + lora);
            assertEquals(0, run.exit(), run.toString());
            for (String line : new String[] {"float (pretrained) ", "PTQ: convert without training ", "QAT -> convert "}) {
                assertTrue(run.out().contains(line), line + " missing in: " + run.out());
            }
            assertTrue(run.out().contains("of the PTQ degradation") || run.out().contains("PTQ lost nothing"), run.out());
            assertTrue(run.out().contains(lora.equals("true") ? "QAT + LoRA: trainable params" : "linears fake-quantized"),
                run.out());
            assertTrue(Files.isRegularFile(out.resolve("ptq/model.safetensors")));
            assertTrue(Files.isRegularFile(out.resolve("qat/model.safetensors")));
            assertEquals(lora.equals("true"), Files.isRegularFile(out.resolve("float-control-ptq/model.safetensors")));
        }
    }

    @Test
    void aMissingModelSaysHowToMakeOne() {
        CommandRun run = CommandRun.of("qat", "model.dir=" + dir.resolve("nothing"), "output.dir=" + dir.resolve("out"));
        assertEquals(2, run.exit());
        assertTrue(run.oneLineError() && run.err().contains("model.dir") && run.err().contains("./spindle pretrain"),
            run.err());
    }

    @Test
    void theRecoveredShareIsPtqMinusQatOverPtqMinusFloatOfTheControl() {
        assertTrue(new QatReport(1.0, 1.2, 1.05, null, null, 4).text()
            .contains("QAT recovered 75.0% of the PTQ degradation (0.1500 of 0.2000); QAT also trained further"));
        assertTrue(new QatReport(1.0, 1.0, 1.05, null, null, 4).text().contains("PTQ lost nothing"));
        String withControl = new QatReport(1.0, 1.2, 0.95, 0.9, 1.1, 4).text();
        assertTrue(withControl.contains("QAT recovered 75.0% of the PTQ degradation of the float control (trained as"
            + " long) (0.1500 of 0.2000)"), withControl);
    }

    /** A one-layer byte-level Llama with random weights, saved as pretrain saves its model. */
    private Path tinyPretrainedModel() throws Exception {
        HfConfig config = HfConfig.parse("""
            {"name_or_path": "tiny", "model_type": "llama", "vocab_size": 256, "hidden_size": 32,
             "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 48,
             "max_position_embeddings": 64, "tie_word_embeddings": true}""", "tiny");
        Path model = dir.resolve("pretrained");
        ModelSpecs.writeConfig(config, model);
        StateFiles.save(CausalLms.fromHfConfig(config, DataType.FLOAT, 1), model.resolve("model.safetensors"));
        return model;
    }
}
