// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.data.Batch;
import spindle.data.DataLoader;
import spindle.data.Dataset;
import spindle.data.HfConfig;
import spindle.data.LoaderOptions;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.optim.Optimizer;
import spindle.optim.ParamGroups;
import spindle.optim.Sgd;
import spindle.optim.SgdOptions;
import spindle.trainers.Callback;
import spindle.trainers.Checkpointer;
import spindle.trainers.LanguageModeling;
import spindle.trainers.Objective;
import spindle.trainers.StepLoss;
import spindle.trainers.StepMetrics;
import spindle.trainers.Trainer;
import spindle.trainers.TrainerOptions;

/**
 * A tiny, fully seeded language-model training run that a test runs in one process with the whole global batch
 * and {@link DataParallelMain} runs under mpirun with a shard of it per rank. The global batch of {@link #ROWS}
 * sequences divides by 2 and 3 ranks.
 *
 * @param name what the run exercises, for messages
 * @param moe a tiny DeepSeek-V3 (MoE, balance losses, loss-free bias) instead of a tiny Llama
 * @param seqAux the DeepSeek-V3 sequence-wise balance loss instead of the batch-wise (Switch) one
 * @param adamw AdamW instead of SGD with momentum
 * @param dtype float64 or float32
 * @param accumulation micro-batches per step
 * @param clip global gradient-norm clip (0 = off); small enough to clip
 * @param replicas data-parallel replica threads inside each process
 */
record Scenario(String name, boolean moe, boolean seqAux, boolean adamw, DataType dtype, int accumulation, double clip,
                int replicas) {
    static final int ROWS = 6;
    static final int SEQ = 8;
    static final int VOCAB = 32;

    static final List<Scenario> ALL = List.of(
        new Scenario("sgd64", false, false, false, DataType.DOUBLE, 1, 0, 1),
        new Scenario("adamw64-accum-clip", false, false, true, DataType.DOUBLE, 2, 0.05, 1),
        new Scenario("adamw32-accum-clip", false, false, true, DataType.FLOAT, 2, 0.05, 1),
        new Scenario("sgd32", false, false, false, DataType.FLOAT, 1, 0.05, 1),
        new Scenario("adamw64-2-replicas", false, false, true, DataType.DOUBLE, 2, 0.05, 2),
        new Scenario("moe-seqaux64", true, true, true, DataType.DOUBLE, 2, 0.05, 1),
        new Scenario("moe-batchaux64", true, false, true, DataType.DOUBLE, 1, 0.05, 1));

    static Scenario named(String name) {
        return ALL.stream().filter(s -> s.name.equals(name)).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no scenario " + name));
    }

    /**
     * The objective of the Switch (batch-wise) balance loss is not a mean over rows, so data parallelism changes it:
     * each rank's loss is its own rows' (as in PyTorch DDP). The one-process reference then computes the same
     * thing, the mean of the losses of the row groups the ranks hold (rows r, r + N, ... of each batch).
     */
    boolean lossDependsOnGrouping() {
        return moe && !seqAux;
    }

    /** What a run recorded: the state after the last step (by key, as doubles) and each step's loss and tokens. */
    record Result(Map<String, double[]> state, List<Double> losses, List<Long> tokens) {
        void write(Path file) throws IOException {
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
                out.writeInt(state.size());
                for (var e : state.entrySet()) {
                    out.writeUTF(e.getKey());
                    out.writeInt(e.getValue().length);
                    for (double v : e.getValue()) {
                        out.writeDouble(v);
                    }
                }
                out.writeInt(losses.size());
                for (int i = 0; i < losses.size(); i++) {
                    out.writeDouble(losses.get(i));
                    out.writeLong(tokens.get(i));
                }
            }
        }

        static Result read(Path file) throws IOException {
            try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
                Map<String, double[]> state = new LinkedHashMap<>();
                for (int n = in.readInt(); n > 0; n--) {
                    String key = in.readUTF();
                    double[] v = new double[in.readInt()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = in.readDouble();
                    }
                    state.put(key, v);
                }
                List<Double> losses = new ArrayList<>();
                List<Long> tokens = new ArrayList<>();
                for (int n = in.readInt(); n > 0; n--) {
                    losses.add(in.readDouble());
                    tokens.add(in.readLong());
                }
                return new Result(state, losses, tokens);
            }
        }
    }

    /** A trainer for this scenario on one rank of {@code group}, and what it records. */
    final class Run {
        final CausalLm model;
        final Trainer trainer;
        final DataLoader data;
        final List<Double> losses = new ArrayList<>();
        final List<Long> tokens = new ArrayList<>();

        /**
         * A run on {@code group}'s rank; with one process, {@code referenceRanks} is the number of ranks of the run it
         * stands for (it matters only to {@link #lossDependsOnGrouping()}).
         */
        Run(ProcessGroup group, long steps, Path checkpoints, int referenceRanks) {
            this(group, steps, checkpoints, referenceRanks, o -> o);
        }

        /** As above, with the objective passed through {@code objectiveWrapper} (to inject a fault). */
        Run(ProcessGroup group, long steps, Path checkpoints, int referenceRanks,
            java.util.function.UnaryOperator<Objective> objectiveWrapper) {
            int ranks = group.size();
            if (ROWS % ranks != 0) {
                throw new IllegalArgumentException("the global batch of " + ROWS + " rows does not divide over " + ranks);
            }
            model = CausalLms.fromHfConfig(HfConfig.parse(config(), name), dtype, 11);
            data = new DataLoader(randomTokens(60, 3), LoaderOptions.of(ROWS / ranks).shuffled(5).dropLast()
                .shard(group.rank(), ranks));
            Optimizer optimizer = adamw
                ? new Adam(ParamGroups.decayMatricesOnly(model.namedParameters(), 0.1), AdamOptions.adamW().withLr(1e-2))
                : new Sgd(model.namedParameters(), SgdOptions.of(0.5).withMomentum(0.9));
            var options = TrainerOptions.defaults().withMaxSteps(steps).withGradAccumulation(accumulation)
                .withMaxGradNorm(clip).withReplicas(ranks == 1 ? 1 : replicas);
            Objective objective = ranks == 1 && lossDependsOnGrouping() ? groupedObjective(model, referenceRanks)
                : new LanguageModeling(model);
            trainer = new Trainer(model, optimizer, LrSchedule.warmupCosine(1, 10, 0.1), objectiveWrapper.apply(objective),
                    options)
                .setProcessGroup(group).setNotices(m -> { });
            trainer.addCallback(new Callback() {
                @Override
                public void onStep(StepMetrics m, Trainer t) {
                    losses.add(m.loss());
                    tokens.add(m.tokens());
                }
            });
            if (checkpoints != null) {
                trainer.setCheckpointer(new Checkpointer(checkpoints, 1, 0));
            }
        }

        Result fit() throws IOException {
            trainer.fit(data);
            return result();
        }

        Result result() {
            Map<String, double[]> state = new LinkedHashMap<>();
            model.stateDict().forEach((k, v) -> state.put(k, v.castTo(DataType.DOUBLE).ravel().toDoubleVector()));
            return new Result(state, losses, tokens);
        }
    }

    /** The mean of the losses of the row groups r, r + n, ... that n ranks would hold. */
    private static Objective groupedObjective(CausalLm model, int n) {
        LanguageModeling lm = new LanguageModeling(model);
        return batch -> {
            Tensor sum = null;
            double balance = 0;
            for (int r = 0; r < n; r++) {
                long[] rows = java.util.stream.LongStream.iterate(r, i -> i < batch.size(), i -> i + n).toArray();
                StepLoss part = lm.loss(new Batch(batch.inputs().getRows(toInts(rows)), batch.targets().getRows(toInts(rows))));
                sum = sum == null ? part.loss() : Elementwise.add(sum, part.loss());
                balance += part.aux().get(StepLoss.BALANCE_LOSS);
            }
            return StepLoss.of(Elementwise.mulScalar(sum, 1.0 / n)).withBalanceLoss(balance / n);
        };
    }

    private static int[] toInts(long[] v) {
        return Arrays.stream(v).mapToInt(Math::toIntExact).toArray();
    }

    private String config() {
        if (!moe) {
            return """
                {"model_type": "llama", "vocab_size": %d, "hidden_size": 16, "num_hidden_layers": 2,
                 "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 24,
                 "max_position_embeddings": 32, "tie_word_embeddings": true}""".formatted(VOCAB);
        }
        return """
            {"model_type": "deepseek_v3", "vocab_size": %d, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "kv_lora_rank": 8, "qk_nope_head_dim": 4, "qk_rope_head_dim": 4,
             "v_head_dim": 4, "intermediate_size": 24, "moe_intermediate_size": 8, "n_routed_experts": 4,
             "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1, "scoring_func": "sigmoid",
             "topk_method": "noaux_tc", "aux_free_bias_update_speed": 0.01, "aux_loss_alpha": 0.01,
             "seq_aux": %s, "router_z_loss_coef": 0.001, "max_position_embeddings": 32}"""
            .formatted(VOCAB, seqAux);
    }

    /** n sequences of SEQ + 1 random tokens: inputs are the first SEQ, targets the last SEQ. */
    static Dataset randomTokens(int n, long seed) {
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
