// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.autograd.PyTorch;

/**
 * {@code spindle bench}: times the training step of {@code torch_ref.py bench} on the same config and prints
 * one JSON line; with {@code --compare} it also runs PyTorch's bench right after and prints the ratio.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Times one training step (forward, backward, AdamW) of the model a bench config describes.",
        "%nThe config is a Hugging Face config.json with a \"train\" section (batch, seq, lr, weight_decay, warmup,"
            + " steps, threads, seed); prints one JSON line: tokens_per_s, step_ms_median, params, trainable,"
            + " peak_rss_mb, nd4j_ops_per_step."})
final class Bench implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "Bench config, e.g. ../shared/bench/configs/tiny-llama.json.")
    private Path config;

    @Option(names = "--compare", description = "Also run /usr/bin/python3 torch_ref.py bench (next to the config's"
        + " folder) and print the tokens/s ratio Spindle / PyTorch. PyTorch runs with this process's environment,"
        + " so both see the same OMP_WAIT_POLICY (./spindle sets PASSIVE unless you set it).")
    private boolean compare;

    @Option(names = "--torch-ref", description = "Path of torch_ref.py (default: ../torch_ref.py from the config).")
    private Path torchRef;

    @Override
    public Integer call() throws Exception {
        StepTimer.Result ours = StepTimer.run(config);
        System.out.println(ours.toJson());
        if (compare) {
            Path script = torchRef != null ? torchRef : config.toAbsolutePath().getParent().getParent().resolve("torch_ref.py");
            String line = PyTorch.run(script, 1800, "bench", config.toString()).strip();
            System.out.println(line);
            double theirs = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).path("tokens_per_s").asDouble();
            System.out.println(String.format(Locale.ROOT, "{\"tokens_per_s_ratio_spindle_over_pytorch\": %.3f,"
                + " \"omp_wait_policy_of_both\": \"%s\"}", ours.tokensPerSecond() / theirs, StepTimer.ompWaitPolicy()));
        }
        return 0;
    }
}
