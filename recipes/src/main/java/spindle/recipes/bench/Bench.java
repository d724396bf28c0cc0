// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.layers.lora.FrozenBase;
import spindle.trainers.mpi.ProcessGroup;

/**
 * {@code spindle bench}: times the Trainer's steps (the ones pretrain runs) on the work of {@code torch_ref.py bench}
 * and prints one JSON line; with {@code --compare} it also runs PyTorch's bench right after and prints the ratio.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Times the Trainer's step (forward, backward, AdamW, as pretrain runs it) on the model a bench"
        + " config describes.",
        "%nThe config is a Hugging Face config.json with a \"train\" section (batch, seq, lr, weight_decay, warmup,"
            + " steps, threads, seed); prints one JSON line: replicas, tokens_per_s, step_ms_median, step_ms_min,"
            + " params, trainable, peak_rss_mb, nd4j_ops_per_step, final_loss, the GEMM figures (gemm_gflop_per_step,"
            + " gemm_ms_per_step, gemm_share, gemm_gflops_per_s, gemm_peak_gflops_per_s: BLAS alone on the step's"
            + " shapes in this process, mfu: model FLOP/s over that peak), cpu_ms_per_step,"
            + " nd4j_buffers_and_contexts_per_step (ND4J DataBuffers, views and shape infos too, and op contexts"
            + " created per step: about 10 us each), the runtime settings (omp_wait_policy, openblas_coretype, jvm_options). With --compare PyTorch's line and the ratio follow, once per round.",
        "%nUnder mpirun -np N every process trains on the config's batch (on OMP_NUM_THREADS threads when set) and rank"
            + " 0 alone prints the line: its step times, tokens_per_s of the whole job, world_size, the gradient bytes"
            + " summed per step (allreduce_mb_per_step), the milliseconds per step inside MPI_Allreduce on the"
            + " communication thread (allreduce_ms_per_step), those the step waited for it after backward"
            + " (comm_wait_ms_per_step: not hidden behind backward) and comm_hidden_share = 1 - wait / allreduce."})
public final class Bench implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "Bench config, e.g. ../shared/bench/configs/tiny-llama.json.")
    private Path config;

    @Option(names = "--compare", description = "Also run /usr/bin/python3 torch_ref.py bench (next to the config's"
        + " folder) and print the tokens/s ratio Spindle / PyTorch. PyTorch runs with this process's environment,"
        + " so both see the same OMP_WAIT_POLICY (./spindle sets PASSIVE unless you set it).")
    private boolean compare;

    @Option(names = "--torch-ref", description = "Path of torch_ref.py (default: ../torch_ref.py from the config).")
    private Path torchRef;

    @Option(names = "--lora", description = "Train LoRA adapters from the config's \"lora\" section (targets, r,"
        + " alpha, use_rslora, use_dora) on the frozen model, as torch_ref.py bench --lora does.")
    private boolean lora;

    @Option(names = "--lora-base", defaultValue = "float32", description = "With --lora: the frozen base in float32"
        + " (default) or bfloat16 (half its memory; products still compute in float32).")
    private String loraBase;

    @Option(names = "--rounds", defaultValue = "1", description = "Rounds to run (default ${DEFAULT-VALUE}); with"
        + " --compare each round runs Spindle then PyTorch, and a last line gives every ratio and their median,"
        + " since one round on a shared machine can be 15%% off.")
    private int rounds;

    @Option(names = "--replicas", defaultValue = "0", description = "Data-parallel replicas (threads of the JVM"
        + " sharing the parameters), each taking batch/replicas rows on threads/replicas ND4J threads; 0 (the"
        + " default) means one per config thread while each gets 512+ tokens a step, else 1 (small steps are mostly"
        + " per-op costs each replica pays again).")
    private int replicas;

    @Option(names = "--qat", description = "Fake-quantize the projections as the config's \"qat\" section says"
        + " (torch_ref.py bench --qat; default 8da4w, group size 32). With --lora: QAT-LoRA, the frozen base"
        + " fake-quantized and the adapters in float (torch_ref.py bench --qat --lora).")
    private boolean qat;

    @Option(names = "--profile", arity = "0..1", fallbackValue = "20", paramLabel = "STEPS", description = "After the"
        + " timed steps, sample STEPS more (default 20) and print where their time went: per phase, kind of work"
        + " (gemm, allocation, nd4j native, nd4j java, spindle java), layer and op.")
    private int profileSteps;

    @Override
    public Integer call() throws Exception {
        if (replicas < 0) {
            throw new IllegalArgumentException("--replicas must be 0 (automatic) or more but is " + replicas);
        }
        if (profileSteps < 0) {
            throw new IllegalArgumentException("--profile must be at least 1 step but is " + profileSteps);
        }
        if (rounds < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1 but is " + rounds);
        }
        if (compare && !Files.isRegularFile(torchRefScript())) {
            throw new IllegalArgumentException("--compare: no torch_ref.py at " + torchRefScript() + " (the default is"
                + " ../torch_ref.py from the config's folder); name it with --torch-ref");
        }
        boolean main = ProcessGroup.world().isMain();
        if (compare && ProcessGroup.world().size() > 1) {
            throw new IllegalArgumentException("--compare runs PyTorch in one process: run it without mpirun");
        }
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            BenchResult ours = BenchRun.run(config, replicas, qat, lora, loraBaseDtype(), profileSteps);
            if (!main) {
                continue;   // rank 0 prints the job's line
            }
            System.out.println(ours.toJson());
            if (ours.profile() != null) {
                System.out.print(ours.profile().toText());
            }
            if (compare) {
                ratios.add(ours.tokensPerSecond() / pytorchTokensPerSecond());
                System.out.println(String.format(Locale.ROOT, "{\"tokens_per_s_ratio_spindle_over_pytorch\": %.3f,"
                    + " \"omp_wait_policy_of_both\": \"%s\"}", ratios.get(r), BenchResult.ompWaitPolicy()));
            }
        }
        if (ratios.size() > 1) {
            List<Double> sorted = new ArrayList<>(ratios);
            Collections.sort(sorted);
            int n = sorted.size();
            double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
            System.out.println(String.format(Locale.ROOT, "{\"rounds\": %d, \"ratios\": %s,"
                + " \"tokens_per_s_ratio_median\": %.3f}", n, ratios.stream()
                .map(x -> String.format(Locale.ROOT, "%.3f", x)).toList(), median));
        }
        return 0;
    }

    private DataType loraBaseDtype() {
        DataType base = FrozenBase.parse(loraBase, "--lora-base");
        if (base != DataType.FLOAT && (!lora || qat)) {
            throw new IllegalArgumentException("--lora-base " + loraBase + " needs --lora without --qat");
        }
        return base;
    }

    private Path torchRefScript() {
        Path folder = config.toAbsolutePath().getParent().getParent();
        return torchRef != null ? torchRef : (folder == null ? Path.of("torch_ref.py") : folder.resolve("torch_ref.py"));
    }

    /** Runs torch_ref.py bench on the same config, prints its JSON line and returns its tokens/s. */
    private double pytorchTokensPerSecond() throws Exception {
        List<String> args = new ArrayList<>(List.of("bench", config.toString()));
        if (qat) {
            args.add("--qat");
        }
        if (lora) {
            args.add("--lora");
        }
        String line = TorchReference.run(torchRefScript(), 1800, args.toArray(new String[0])).strip();
        System.out.println(line);
        return JsonNumbers.require(line, "tokens_per_s", "the output of torch_ref.py bench");
    }
}
