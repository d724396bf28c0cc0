// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.DoubleAdder;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.profiler.OpProfiler;
import org.nd4j.linalg.profiler.ProfilerConfig;
import spindle.autograd.Memory;
import spindle.data.Batch;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.trainers.DataParallel;
import spindle.trainers.LanguageModeling;

/** The measured training step of {@link Bench}: the same work as torch_ref.py's bench loop. */
final class StepTimer {
    private StepTimer() {}

    record Result(String config, int threads, int replicas, double stepMsMedian, double stepMsMin, double tokensPerSecond,
                  long params, long trainable, double peakRssMb, long opsPerStep, double finalLoss) {
        String toJson() {
            return String.format(Locale.ROOT, "{\"impl\": \"spindle\", \"config\": \"%s\", \"threads\": %d,"
                + " \"replicas\": %d, \"step_ms_median\": %.2f, \"step_ms_min\": %.2f, \"tokens_per_s\": %.1f, \"params\": %d, \"trainable\": %d,"
                + " \"peak_rss_mb\": %.1f, \"nd4j_ops_per_step\": %d, \"final_loss\": %.4f, \"omp_wait_policy\": \"%s\","
                + " \"openblas_coretype\": \"%s\", \"jvm_options\": \"%s\"}",
                json(config), threads, replicas, stepMsMedian, stepMsMin, tokensPerSecond, params, trainable, peakRssMb, opsPerStep,
                finalLoss, json(ompWaitPolicy()), json(env("OPENBLAS_CORETYPE", "detected")),
                json(String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments())));
        }
    }

    /** {@code text} as the inside of a JSON string. */
    private static String json(String text) {
        return new String(JsonStringEncoder.getInstance().quoteAsString(text));
    }

    /** OpenMP's wait policy of this process, which the PyTorch run of {@code --compare} inherits. */
    static String ompWaitPolicy() {
        return env("OMP_WAIT_POLICY", "unset");
    }

    private static String env(String name, String unset) {
        String value = System.getenv(name);
        return value == null ? unset : value;
    }

    /** Times the config's steps; {@code replicas} data-parallel replicas, or 0 for one per thread of the config. */
    static Result run(Path configFile, int replicas) throws IOException {
        JsonNode train = new ObjectMapper().readTree(configFile.toFile()).path("train");
        HfConfig hf = HfConfig.read(configFile);
        int batch = train.path("batch").asInt(8);
        int seq = train.path("seq").asInt(256);
        int threads = train.path("threads").asInt(2);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
        int n = replicas > 0 ? replicas : Math.min(threads, batch);
        CausalLm model = CausalLms.fromHfConfig(hf, DataType.FLOAT, train.path("seed").asLong(0));
        var optimizer = new Adam(model.trainableParameters(), AdamOptions.adamW()
            .withLr(train.path("lr").asDouble(3e-4)).withWeightDecay(train.path("weight_decay").asDouble(0)));
        Batch xy = randomBatch(hf.integer("vocab_size"), batch, seq, 1);
        int warmup = train.path("warmup").asInt(3);
        int steps = train.path("steps").asInt(10);
        List<Double> times = new ArrayList<>();
        double loss = 0;
        long peakRss = 0;
        try (DataParallel replicated = new DataParallel(model.trainableParameters().values(), n)) {
            for (int i = 0; i < warmup + steps; i++) {
                long t0 = System.nanoTime();
                loss = step(model, replicated, optimizer, xy);
                if (i >= warmup) {
                    times.add((System.nanoTime() - t0) / 1e6);
                }
                peakRss = Math.max(peakRss, Pointer.physicalBytes());   // resident set after each step
            }
        }
        long ops = countOps(model, optimizer, xy);
        freeNow(model, optimizer);
        Collections.sort(times);
        double median = times.get(times.size() / 2);
        return new Result(hf.string("name_or_path", configFile.getFileName().toString()), threads, n, median, times.get(0),
            batch * seq / (median / 1e3), model.parameterCount(), model.trainableParameterCount(),
            peakRss / 1e6, ops, loss);
    }

    /** One AdamW step on the batch, split over the replicas; returns the cross-entropy (without the balance loss). */
    private static double step(CausalLm model, DataParallel replicated, Adam optimizer, Batch xy) {
        DoubleAdder crossEntropy = new DoubleAdder();   // the replicas' values, weighted by their rows
        replicated.backward(xy, part -> {
            LanguageModeling.Parts loss = new LanguageModeling(model).parts(part);
            crossEntropy.add(loss.crossEntropy().item() * part.size() / xy.size());
            return loss.total();
        });
        replicated.step(optimizer);
        optimizer.zeroGrad();
        return crossEntropy.sum();
    }

    /**
     * ND4J ops executed by one more step, counted by ND4J's own profiler (outside the timed steps). The step runs
     * on one replica: the profiler's records are not thread-safe, so two replicas counting at once can crash it.
     */
    private static long countOps(CausalLm model, Adam optimizer, Batch xy) {
        OpProfiler.getInstance().reset();
        Nd4j.getExecutioner().setProfilingConfig(ProfilerConfig.builder().notOptimalArguments(false).build());
        Nd4j.getExecutioner().setProfilingMode(org.nd4j.linalg.api.ops.executioner.OpExecutioner.ProfilingMode.OPERATIONS);
        try (DataParallel single = new DataParallel(model.trainableParameters().values(), 1)) {
            step(model, single, optimizer, xy);
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
        System.gc();   // and the rest the round left to the collector: DataParallel's threads' scratch, the batch
    }

    /** Random tokens [batch, seq + 1] split into inputs and next-token targets, as torch_ref's batch(). */
    private static Batch randomBatch(int vocab, int batch, int seq, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long[][] x = new long[batch][seq];
        long[][] y = new long[batch][seq];
        for (int b = 0; b < batch; b++) {
            long prev = rng.nextInt(vocab);
            for (int t = 0; t < seq; t++) {
                long next = rng.nextInt(vocab);
                x[b][t] = prev;
                y[b][t] = next;
                prev = next;
            }
        }
        return new Batch(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }
}
