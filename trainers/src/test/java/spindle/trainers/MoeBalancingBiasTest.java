// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Losses;
import spindle.autograd.ops.Shapes;
import spindle.data.Batch;
import spindle.data.DataLoader;
import spindle.data.Dataset;
import spindle.data.HfConfig;
import spindle.data.LoaderOptions;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLmOutput;
import spindle.layers.models.CausalLms;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.optim.ParamGroups;

/**
 * The trainer moves DeepSeek-V3's loss-free balancing bias after each optimizer step, from the loads of all the
 * step's micro-batches and replicas. The expected bias is computed here from the loads the model reported.
 */
class MoeBalancingBiasTest {
    private static final double SPEED = 0.01;
    private static final int VOCAB = 32;
    private static final int SEQ = 8;
    private static final int BATCH = 4;
    private static final int MICRO_BATCHES = 2;
    private static final int TOP_K = 2;
    /** The two MoE layers of the tiny model (layer 0 is dense). */
    private static final List<String> BIASES = List.of("model.layers.1.mlp.gate.e_score_correction_bias",
        "model.layers.2.mlp.gate.e_score_correction_bias");

    @Test
    void eachStepMovesTheBiasBySignOfMeanLoadMinusLoadFromAllMicroBatches() throws IOException {
        Run run = new Run("noaux_tc", 1, null, 4);
        run.fit();
        assertEquals(4, run.loads.size());
        double[][] expected = new double[BIASES.size()][4];
        boolean moved = false;
        for (int s = 0; s < run.loads.size(); s++) {
            for (int l = 0; l < BIASES.size(); l++) {
                long[] load = run.loads.get(s)[l];
                assertEquals((long) MICRO_BATCHES * BATCH * SEQ * TOP_K, Arrays.stream(load).sum(),
                    "the step's load counts every slot of both micro-batches");
                expected[l] = deepSeekV3Rule(expected[l], load);
                assertArrayEquals(expected[l], run.biases.get(s)[l], 1e-15, "layer " + (l + 1) + " after step " + (s + 1));
                moved |= Arrays.stream(expected[l]).anyMatch(b -> b != 0);
            }
        }
        assertTrue(moved, "the loads were never uneven, so the test checks nothing");
    }

    @Test
    void twoReplicasGiveTheBiasOfOneForTheSameGlobalBatch() throws IOException {
        Run one = new Run("noaux_tc", 1, null, 3);
        one.fit();
        Run two = new Run("noaux_tc", 2, null, 3);
        two.fit();
        for (int s = 0; s < 3; s++) {
            for (int l = 0; l < BIASES.size(); l++) {
                assertArrayEquals(one.loads.get(s)[l], two.loads.get(s)[l], "loads of layer " + (l + 1));
                assertArrayEquals(one.biases.get(s)[l], two.biases.get(s)[l], 0.0, "bias of layer " + (l + 1));
            }
        }
        assertTrue(Arrays.stream(two.biases.get(2)).flatMapToDouble(Arrays::stream).anyMatch(b -> b != 0),
            "the bias never moved, so the test checks nothing");
    }

    @Test
    void aModelWithoutNoauxTcHasNoBiasToMove() throws IOException {
        Run greedy = new Run("greedy", 1, null, 2);
        greedy.fit();
        assertTrue(greedy.model.stateDict().keySet().stream().noneMatch(k -> k.contains("e_score_correction_bias")),
            "topk_method greedy routes without a bias: " + greedy.model.stateDict().keySet());
        assertEquals(2, greedy.loads.size(), "it trains; the hook has nothing to do");
    }

    @Test
    void checkpointsSaveTheBiasAndAResumedRunContinuesIt(@TempDir Path dir) throws IOException {
        Run straight = new Run("noaux_tc", 1, null, 4);
        straight.fit();
        Run first = new Run("noaux_tc", 1, dir, 2);
        first.fit();
        Map<String, INDArray> saved = new Checkpointer(dir, 2, 3).latest().orElseThrow().modelState();
        boolean moved = false;
        for (int l = 0; l < BIASES.size(); l++) {
            INDArray bias = saved.get(BIASES.get(l));
            assertNotNull(bias, "a persistent buffer in the checkpoint: " + saved.keySet());
            assertArrayEquals(first.biases.get(1)[l], bias.toDoubleVector(), 0.0);
            moved |= Arrays.stream(bias.toDoubleVector()).anyMatch(b -> b != 0);
        }
        assertTrue(moved, "no saved bias has moved, so the test checks nothing");
        Run resumed = new Run("noaux_tc", 1, dir, 4);
        resumed.fit();
        assertEquals(2, resumed.biases.size(), "steps 3 and 4 after resuming at 2");
        for (int l = 0; l < BIASES.size(); l++) {
            assertArrayEquals(straight.biases.get(3)[l], resumed.biases.get(1)[l], 1e-12, "layer " + (l + 1));
        }
    }

    /** bias + speed * sign(mean - load), the step shifted to zero mean. */
    private static double[] deepSeekV3Rule(double[] bias, long[] load) {
        double mean = Arrays.stream(load).average().orElseThrow();
        double[] step = new double[load.length];
        for (int i = 0; i < load.length; i++) {
            step[i] = load[i] < mean ? SPEED : load[i] > mean ? -SPEED : 0;
        }
        double shift = Arrays.stream(step).average().orElseThrow();
        double[] next = new double[load.length];
        for (int i = 0; i < load.length; i++) {
            next[i] = bias[i] + step[i] - shift;
        }
        return next;
    }

    /** A tiny float64 DeepSeek-V3 language model trained on fixed random tokens, recording loads and biases. */
    private static final class Run {
        final CausalLm model;
        final Trainer trainer;
        final DataLoader data = new DataLoader(randomTokens(64, 3), LoaderOptions.of(BATCH).shuffled(5));
        final List<long[][]> loads = new ArrayList<>();    // per step, per MoE layer
        final List<double[][]> biases = new ArrayList<>(); // per step, per MoE layer, after the step
        private long[][] stepLoad = new long[BIASES.size()][4];

        Run(String topkMethod, int replicas, Path checkpoints, long steps) {
            model = CausalLms.fromHfConfig(HfConfig.parse(config(topkMethod), "tiny " + topkMethod), DataType.DOUBLE, 11);
            var optimizer = new Adam(ParamGroups.decayMatricesOnly(model.namedParameters(), 0.0),
                AdamOptions.adamW().withLr(3e-2));
            var options = TrainerOptions.defaults().withGradAccumulation(MICRO_BATCHES).withReplicas(replicas);
            trainer = new Trainer(model, optimizer, LrSchedule.constant(), this::loss, options.withMaxSteps(steps));
            trainer.addCallback(new Callback() {
                @Override
                public void onStep(StepMetrics m, Trainer t) {
                    record();
                }
            });
            if (checkpoints != null) {
                trainer.setCheckpointer(new Checkpointer(checkpoints, 2, 3));
            }
        }

        void fit() throws IOException {
            trainer.fit(data);
        }

        private StepLoss loss(Batch batch) {
            CausalLmOutput out = model.forward(Tensor.of(batch.inputs()), null);
            synchronized (this) {   // replicas run this on their own threads
                for (int l = 0; l < out.tokensPerExpert().length; l++) {
                    for (int e = 0; e < 4; e++) {
                        stepLoad[l][e] += out.tokensPerExpert()[l][e];
                    }
                }
            }
            Tensor ce = Losses.crossEntropy(Shapes.reshape(out.logits(), -1, VOCAB),
                Shapes.reshape(Tensor.of(batch.targets()), -1));
            return StepLoss.of(Elementwise.add(ce, out.balanceLoss()));
        }

        private synchronized void record() {
            loads.add(stepLoad);
            stepLoad = new long[BIASES.size()][4];
            double[][] now = new double[BIASES.size()][];
            Map<String, INDArray> state = model.stateDict();
            for (int l = 0; l < BIASES.size(); l++) {
                INDArray b = state.get(BIASES.get(l));
                now[l] = b == null ? new double[4] : b.toDoubleVector();
            }
            biases.add(now);
        }
    }

    private static String config(String topkMethod) {
        return """
            {"model_type": "deepseek_v3", "vocab_size": %d, "hidden_size": 16, "num_hidden_layers": 3,
             "num_attention_heads": 2, "kv_lora_rank": 8, "qk_nope_head_dim": 4, "qk_rope_head_dim": 4,
             "v_head_dim": 4, "intermediate_size": 24, "moe_intermediate_size": 8, "n_routed_experts": 4,
             "n_shared_experts": 1, "num_experts_per_tok": %d, "first_k_dense_replace": 1, "scoring_func": "sigmoid",
             "topk_method": "%s", "aux_free_bias_update_speed": %s, "aux_loss_alpha": 0.0,
             "max_position_embeddings": 32}"""
            .formatted(VOCAB, TOP_K, topkMethod, SPEED);
    }

    /** n sequences of SEQ + 1 random tokens: inputs are the first SEQ, targets the last SEQ. */
    private static Dataset randomTokens(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long[][] tokens = new long[n][SEQ + 1];
        for (long[] row : tokens) {
            for (int t = 0; t <= SEQ; t++) {
                row[t] = rng.nextInt(VOCAB);
            }
        }
        return new Dataset() {
            @Override
            public int size() {
                return n;
            }

            @Override
            public Batch batch(int[] indices) {
                long[][] in = new long[indices.length][];
                long[][] out = new long[indices.length][];
                for (int i = 0; i < indices.length; i++) {
                    in[i] = Arrays.copyOfRange(tokens[indices[i]], 0, SEQ);
                    out[i] = Arrays.copyOfRange(tokens[indices[i]], 1, SEQ + 1);
                }
                return new Batch(Nd4j.createFromArray(in), Nd4j.createFromArray(out));
            }
        };
    }
}
