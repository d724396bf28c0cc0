// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.profiler.OpProfiler;
import org.nd4j.linalg.profiler.ProfilerConfig;
import spindle.autograd.Memory;
import spindle.autograd.ops.GemmMeter;
import spindle.data.DataLoader;
import spindle.data.Dataset;
import spindle.data.HfConfig;
import spindle.data.LoaderOptions;
import spindle.layers.lora.LoraModels;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.trainers.LanguageModeling;
import spindle.trainers.StepMetrics;
import spindle.trainers.Trainer;
import spindle.trainers.TrainerOptions;
import spindle.trainers.mpi.ProcessGroup;

/**
 * The measured steps of {@link Bench}: {@link Trainer} steps, as {@code pretrain} runs them, on the work of
 * torch_ref.py's bench loop: AdamW at a constant lr with weight decay on every parameter, one fixed random batch,
 * no clipping (the trainer still measures the gradient norm, as it does in every run).
 */
final class BenchRun {
    private BenchRun() {}

    /**
     * Times the config's steps; {@code replicas} data-parallel replicas, or 0 for {@link ReplicaCount#automatic}.
     * With {@code qat} the projections are fake-quantized; with {@code lora} the base is frozen and adapters from
     * the config's "lora" section train, as in {@code torch_ref.py bench --lora}, the base's weight matrices stored
     * in {@code loraBase} (FLOAT, or BFLOAT16 to halve them); with both, QAT-LoRA's model. {@code profileSteps} more steps
     * after them are sampled for {@link StepProfile} (none when 0).
     */
    static BenchResult run(Path configFile, int replicas, boolean qat, boolean lora, DataType loraBase, int profileSteps)
            throws Exception {
        JsonNode json = new ObjectMapper().readTree(configFile.toFile());
        JsonNode train = json.path("train");
        HfConfig hf = HfConfig.read(configFile);
        int batch = train.path("batch").asInt(8);
        int seq = train.path("seq").asInt(256);
        ProcessGroup group = ProcessGroup.world();   // under mpirun: every rank trains on the whole batch
        int threads = threadsPerProcess(train.path("threads").asInt(2), group);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
        int n = replicas > 0 ? replicas : ReplicaCount.automatic(threads, batch, seq);
        long seed = train.path("seed").asLong(0);
        CausalLm model = qat && lora ? QatBench.loraModel(hf, json, seed, configFile)
            : qat ? QatBench.model(hf, json, seed, configFile)
            : lora ? LoraModels.fromHfConfig(hf, DataType.FLOAT, loraBase, BenchLora.read(configFile), seed).model()
            : CausalLms.fromHfConfig(hf, DataType.FLOAT, seed);
        var optimizer = new Adam(model.trainableParameters(), AdamOptions.adamW()
            .withLr(train.path("lr").asDouble(3e-4)).withWeightDecay(train.path("weight_decay").asDouble(0)));
        Dataset data = RandomBatch.dataset(hf.integer("vocab_size"), batch, seq, 1);
        int warmup = train.path("warmup").asInt(3);
        StepTimes times = new StepTimes(warmup);
        var options = TrainerOptions.defaults().withMaxSteps(warmup + train.path("steps").asInt(10)).withMaxGradNorm(0);
        new Trainer(model, optimizer, LrSchedule.constant(), new LanguageModeling(model), options.withReplicas(n))
            .addCallback(times).fit(new DataLoader(data, LoaderOptions.of(batch)));
        GemmMeter.Reading gemms = GemmMeter.stop();
        long ops = countOps(model, optimizer, data, options.withMaxSteps(1).withReplicas(1));
        StepProfile profile = null;
        if (profileSteps > 0) {
            profile = StepProfile.sample(() -> new Trainer(model, optimizer, LrSchedule.constant(),
                new LanguageModeling(model), options.withMaxSteps(profileSteps).withReplicas(n))
                .fit(new DataLoader(data, LoaderOptions.of(batch))), profileSteps);
        }
        double median = times.median();
        StepCost cost = StepCost.of(gemms, times.count(), median, times.cpuMillisPerStep(), threads, n,
            times.nd4jBuffersAndContextsPerStep());
        Communication comm = times.communication(group.size());
        freeNow(model, optimizer);
        StepMetrics last = times.last();
        double balance = last.balanceLoss();
        String name = hf.string("name_or_path", configFile.getFileName().toString()) + (qat ? " --qat" : "")
            + (qat && lora ? " --lora" : "") + (lora && loraBase != DataType.FLOAT ? " --lora-base " + loraBase : "");
        return new BenchResult(name, threads, n, median,
            times.min(), (double) group.size() * batch * seq / (median / 1e3), model.parameterCount(),
            model.trainableParameterCount(), last.peakRssBytes() / 1e6, ops,
            last.loss() - (Double.isNaN(balance) ? 0 : balance), cost, comm, profile);
    }

    /** The config's threads, or under an MPI job OMP_NUM_THREADS when set (./spindle sets cores / local ranks). */
    private static int threadsPerProcess(int configured, ProcessGroup group) {
        String omp = System.getenv("OMP_NUM_THREADS");
        return group.size() > 1 && omp != null && omp.matches("[1-9][0-9]*") ? Integer.parseInt(omp) : configured;
    }

    /**
     * ND4J ops executed by one more trainer step, counted by ND4J's own profiler (outside the timed steps). The
     * step runs on one replica: the profiler's records are not thread-safe, so two replicas counting at once can
     * crash it.
     */
    private static long countOps(CausalLm model, Adam optimizer, Dataset data, TrainerOptions oneStep)
            throws IOException {
        var trainer = new Trainer(model, optimizer, LrSchedule.constant(), new LanguageModeling(model), oneStep);
        OpProfiler.getInstance().reset();
        Nd4j.getExecutioner().setProfilingConfig(ProfilerConfig.builder().notOptimalArguments(false).build());
        Nd4j.getExecutioner().setProfilingMode(org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode.OPERATIONS);
        try {
            trainer.fit(new DataLoader(data, LoaderOptions.of(data.size())));
            return OpProfiler.getInstance().getInvocationsCount();
        } finally {
            Nd4j.getExecutioner().setProfilingMode(org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode.DISABLED);
        }
    }

    /**
     * Frees the round's parameters and optimizer state now. Their off-heap memory is otherwise freed only when an
     * old-generation collection finds them, so a bench of several rounds in one JVM held every round's (RSS grew
     * by about 375 MB a round on tiny-deepseek).
     */
    private static void freeNow(CausalLm model, Adam optimizer) {
        optimizer.zeroGrad();
        optimizer.stateTensors().values().forEach(Memory::release);
        model.namedParameters().values().forEach(p -> Memory.release(p.value()));
        System.gc();   // and the rest the round left to the collector: the batch, the trainer's scratch
    }
}
