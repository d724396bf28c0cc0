// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.data.Batch;
import spindle.data.DataLoader;
import spindle.data.Dataset;
import spindle.data.HfConfig;
import spindle.data.LoaderOptions;
import spindle.layers.Module;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.qat.FakeQuantized;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatModels;
import spindle.layers.qat.QatScheme;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;

/**
 * torchtune's fake_quant_after_n_steps: the first N steps run in float, later ones fake-quantized, every QatLinear
 * and a tied head alike, also across a resume.
 */
class FakeQuantAfterStepsTest {
    private static final int SEQ = 8;
    private static final int VOCAB = 40;

    @Test
    void theFirstNStepsRunInFloatAndTheRestFakeQuantized() throws IOException {
        Run run = new Run(null);
        run.fit(5, 2);
        assertEquals(List.of("float", "float", "quantized", "quantized", "quantized"), run.modes);
    }

    @Test
    void zeroStepsQuantizesFromTheFirstStep() throws IOException {
        Run run = new Run(null);
        FakeQuantized head = (FakeQuantized) run.model.tiedHead();
        head.setFakeQuantEnabled(false);   // a previous switch off does not survive the start of a fit
        run.fit(2, 0);
        assertEquals(List.of("quantized", "quantized"), run.modes);
    }

    @Test
    void aResumedRunSwitchesByTheRestoredStep(@TempDir Path dir) throws IOException {
        new Run(dir).fit(2, 3);
        Run resumed = new Run(dir);
        resumed.fit(5, 3);
        assertEquals(List.of("float", "quantized", "quantized"), resumed.modes, "steps 3, 4 and 5 after a resume at 2");
    }

    @Test
    void aModelWithoutFakeQuantizationIsAnError() {
        CausalLm plain = CausalLms.fromHfConfig(config(), DataType.DOUBLE, 1);
        var trainer = new Trainer(plain, new Adam(plain.trainableParameters(), AdamOptions.adamW()), LrSchedule.constant(),
            new LanguageModeling(plain), TrainerOptions.defaults().withMaxSteps(1)).addCallback(new FakeQuantAfterSteps(1));
        String msg = assertThrows(IllegalArgumentException.class, () -> trainer.fit(loader())).getMessage();
        assertTrue(msg.contains("fake_quant_after_n_steps") && msg.contains("no fake-quantized layer"), msg);
        assertThrows(IllegalArgumentException.class, () -> new FakeQuantAfterSteps(-1));
    }

    /** A tied tiny Llama prepared for 8da4w whose objective records, per forward, the state of every switch. */
    private static final class Run {
        final CausalLm model;
        final List<String> modes = new ArrayList<>();
        private final Path checkpoints;

        Run(Path checkpoints) {
            model = QatModels.fromHfConfig(config(), DataType.DOUBLE,
                new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 8)).model();
            CausalLm init = CausalLms.fromHfConfig(config(), DataType.DOUBLE, 3);
            model.loadStateDict(init.stateDict(), true);
            this.checkpoints = checkpoints;
        }

        void fit(long steps, long floatSteps) throws IOException {
            var objective = new LanguageModeling(model);
            var trainer = new Trainer(model, new Adam(model.trainableParameters(), AdamOptions.adamW().withLr(1e-2)),
                LrSchedule.constant(), batch -> {
                    modes.add(mode(model));
                    return objective.loss(batch);
                }, TrainerOptions.defaults().withMaxSteps(steps));
            trainer.addCallback(new FakeQuantAfterSteps(floatSteps)).setNotices(s -> { });
            if (checkpoints != null) {
                trainer.setCheckpointer(new Checkpointer(checkpoints, 1, 0));
            }
            trainer.fit(loader());
        }

        /** "float" or "quantized" when all parts agree, else which are on. */
        private static String mode(Module model) {
            List<Boolean> on = new ArrayList<>();
            model.namedModules().values().forEach(m -> {
                if (m instanceof FakeQuantized f) {
                    on.add(f.isFakeQuantEnabled());
                }
            });
            on.add(((FakeQuantized) ((CausalLm) model).tiedHead()).isFakeQuantEnabled());
            assertTrue(on.size() > 10, "the QatLinears and the tied head: " + on.size());
            return on.stream().allMatch(b -> b) ? "quantized" : on.stream().noneMatch(b -> b) ? "float" : on.toString();
        }
    }

    private static HfConfig config() {
        return HfConfig.parse("""
            {"model_type": "llama", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
             "max_position_embeddings": 32, "tie_word_embeddings": true}""", "tiny tied llama");
    }

    private static DataLoader loader() {
        SplittableRandom rng = new SplittableRandom(5);
        long[][] in = new long[4][SEQ];
        long[][] out = new long[4][SEQ];
        for (int b = 0; b < 4; b++) {
            for (int t = 0; t < SEQ; t++) {
                in[b][t] = rng.nextInt(VOCAB);
                out[b][t] = rng.nextInt(VOCAB);
            }
        }
        Batch fixed = new Batch(Nd4j.createFromArray(in), Nd4j.createFromArray(out));
        return new DataLoader(new Dataset() {
            @Override
            public int size() {
                return 4;
            }

            @Override
            public Batch batch(int[] indices) {
                return fixed;
            }
        }, LoaderOptions.of(4));
    }
}
