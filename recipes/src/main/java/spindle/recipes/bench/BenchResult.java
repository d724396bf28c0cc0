// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * What one bench round measured, printed as the JSON line {@code --compare} pairs with torch_ref.py's; under mpirun
 * rank 0's step times, with tokens/s of the whole job (every rank trains on the config's batch).
 */
record BenchResult(String config, int threads, int replicas, double stepMsMedian, double stepMsMin,
                   double tokensPerSecond, long params, long trainable, double peakRssMb, long opsPerStep,
                   double finalLoss, StepCost cost, Communication comm, StepProfile profile) {

    String toJson() {
        return String.format(Locale.ROOT, "{\"impl\": \"spindle\", \"config\": \"%s\", \"threads\": %d,"
            + " \"replicas\": %d, \"step_ms_median\": %.2f, \"step_ms_min\": %.2f, \"tokens_per_s\": %.1f, \"params\": %d,"
            + " \"trainable\": %d, \"peak_rss_mb\": %.1f, \"nd4j_ops_per_step\": %d, \"final_loss\": %.4f, %s, %s,"
            + " \"omp_wait_policy\": \"%s\", \"openblas_coretype\": \"%s\", \"jvm_options\": \"%s\"}",
            json(config), threads, replicas, stepMsMedian, stepMsMin, tokensPerSecond, params, trainable, peakRssMb,
            opsPerStep, finalLoss, comm.jsonFields(), cost.jsonFields(), json(ompWaitPolicy()), json(env("OPENBLAS_CORETYPE", "detected")),
            json(String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments())));
    }

    /** OpenMP's wait policy of this process, which the PyTorch run of {@code --compare} inherits. */
    static String ompWaitPolicy() {
        return env("OMP_WAIT_POLICY", "unset");
    }

    /** {@code text} as the inside of a JSON string. */
    private static String json(String text) {
        return new String(JsonStringEncoder.getInstance().quoteAsString(text));
    }

    private static String env(String name, String unset) {
        String value = System.getenv(name);
        return value == null ? unset : value;
    }
}
