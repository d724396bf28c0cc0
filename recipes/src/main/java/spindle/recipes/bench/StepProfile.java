// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench --profile}: where a step's time goes, from stack samples of the training threads over some
 * steps ({@link StackSampler}), per phase, kind of work (GEMM, allocation, ND4J's native and Java sides,
 * Spindle's Java), op and layer, each as a share of the samples and as milliseconds of one step.
 */
final class StepProfile {
    /** A step of work to sample. */
    interface Steps {
        void run() throws Exception;
    }

    private final Map<String, Long> counts;
    private final long samples;
    private final double stepMs;
    private final double gcMsPerStep;

    private StepProfile(Map<String, Long> counts, long samples, double stepMs, double gcMsPerStep) {
        this.counts = counts;
        this.samples = samples;
        this.stepMs = stepMs;
        this.gcMsPerStep = gcMsPerStep;
    }

    /** Runs {@code steps} (that many steps) with the sampler on, every millisecond. */
    static StepProfile sample(Steps work, int steps) throws Exception {
        long gc0 = gcMillis();
        long t0 = System.nanoTime();
        StackSampler sampler = new StackSampler(1000);
        try {
            work.run();
        } finally {
            sampler.close();
        }
        double stepMs = (System.nanoTime() - t0) / 1e6 / steps;
        return new StepProfile(sampler.counts(), sampler.samples(), stepMs, (gcMillis() - gc0) / (double) steps);
    }

    private static long gcMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream()
            .mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    /**
     * The table: one block per dimension, rows by falling share; a sample of a thread counts once, so with
     * replicas the shares are of the replicas' time together and the milliseconds are one step's wall time
     * split by share.
     */
    String toText() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "profile: %d samples over steps of %.1f ms"
            + " (sampling on), GC %.2f ms a step%n", samples, stepMs, gcMsPerStep));
        for (String dim : List.of("phase", "kind", "layer", "op", "op x kind")) {
            out.append(String.format(Locale.ROOT, "%n%-44s %7s %9s%n", "by " + dim, "share", "ms/step"));
            List<Map.Entry<String, Long>> rows = new ArrayList<>();
            counts.forEach((k, v) -> {
                if (k.startsWith(dim + "\t")) {
                    rows.add(Map.entry(k.substring(dim.length() + 1), v));
                }
            });
            rows.sort(Map.Entry.<String, Long>comparingByValue().reversed());
            int shown = 0;
            for (Map.Entry<String, Long> r : rows) {
                double share = r.getValue() / (double) samples;
                if (shown++ < 25 && share >= 0.005) {
                    out.append(String.format(Locale.ROOT, "  %-42s %6.1f%% %9.2f%n", r.getKey(), 100 * share,
                        share * stepMs));
                }
            }
        }
        return out.toString();
    }
}
