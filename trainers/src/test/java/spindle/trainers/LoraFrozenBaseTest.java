// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.data.Batch;
import spindle.data.DataLoader;
import spindle.data.Dataset;
import spindle.data.HfConfig;
import spindle.data.LoaderOptions;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.lora.LoraConfig;
import spindle.layers.lora.LoraModels;
import spindle.layers.lora.TargetModules;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;

/**
 * A frozen base costs nothing it need not through the trainer: with two data-parallel replicas and an AdamW
 * given every parameter (frozen ones included, as a PyTorch user may), training leaves each frozen parameter
 * without a gradient and without optimizer state, and unchanged; only the adapters move and get state.
 */
class LoraFrozenBaseTest {
    static final int VOCAB = 40;
    static final int SEQ = 6;

    static HfConfig deepseek() {
        return HfConfig.parse("""
            {"model_type": "deepseek_v3", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "q_lora_rank": 8, "kv_lora_rank": 8, "qk_nope_head_dim": 4,
             "qk_rope_head_dim": 4, "v_head_dim": 4, "intermediate_size": 24, "moe_intermediate_size": 8,
             "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
             "max_position_embeddings": 32, "tie_word_embeddings": false}""", "tiny deepseek");
    }

    static DataLoader loader() {
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

    @Test
    void frozenParametersGetNoGradientNoOptimizerStateAndDoNotMove() throws Exception {
        AdaptedModel m = LoraModels.fromHfConfig(deepseek(), DataType.DOUBLE,
            LoraConfig.of(2, 4, TargetModules.allLinear()).withDora(true).withDropout(0.1), 3);
        Map<String, Tensor> all = m.model().namedParameters();
        Map<String, INDArray> before = new LinkedHashMap<>();
        all.forEach((k, p) -> before.put(k, p.value().dup()));
        var optimizer = new Adam(all, AdamOptions.adamW().withLr(1e-2));
        new Trainer(m.model(), optimizer, LrSchedule.constant(), new LanguageModeling(m.model()),
            TrainerOptions.defaults().withMaxSteps(2).withReplicas(2)).setNotices(s -> { }).fit(loader());

        Map<String, Tensor> trainable = m.model().trainableParameters();
        assertEquals(3 * m.adapters().size(), trainable.size(), "A, B and the magnitude of each adapter");
        for (var e : all.entrySet()) {
            String key = e.getKey();
            boolean adapter = trainable.containsKey(key);
            boolean hasState = optimizer.stateTensors().keySet().stream().anyMatch(s -> s.startsWith(key + "."));
            assertEquals(adapter, hasState, key + ": optimizer state only for adapters");
            if (adapter) {
                assertNotNull(e.getValue().grad(), key);
                if (!key.endsWith("lora_magnitude_vector") && !key.contains(".experts.")) {
                    assertFalse(before.get(key).equals(e.getValue().value()), key + " trained");
                }
            } else {
                assertNull(e.getValue().grad(), key + ": a frozen parameter holds no gradient buffer");
                assertTrue(before.get(key).equals(e.getValue().value()), key + " unchanged");
            }
        }
    }
}
