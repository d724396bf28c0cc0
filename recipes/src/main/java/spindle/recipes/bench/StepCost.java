// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.util.Locale;
import spindle.autograd.ops.GemmMeter;

/**
 * Where a bench step's time went, as far as the GEMMs tell: their FLOPs (forward and backward, every product
 * the ops ran: the model FLOPs, since nothing is recomputed), the time BLAS took for them, their throughput,
 * the GEMM limit on the same shapes ({@link GemmPeak}) and the MFU, model FLOPs per second over that limit.
 * With replicas the GEMM time is the replicas' sum divided by their count, as they run side by side.
 *
 * @param cpuMsPerStep CPU time of the whole process per step: unlike wall time, barely moved by other
 *                     processes on the machine (spinning threads count in it)
 * @param nd4jBuffersPerStep ND4J DataBuffers (data and shape info, views too) and custom-op contexts created per
 *                     step, the fixed cost every ND4J array pays ({@link StepTimes#nd4jBuffersAndContextsPerStep})
 */
record StepCost(double gemmFlopsPerStep, double gemmMsPerStep, double gemmGflopsPerS, double peakGflopsPerS,
                double mfu, double gemmShare, double cpuMsPerStep, double nd4jBuffersPerStep) {

    static StepCost of(GemmMeter.Reading gemms, int steps, double stepMs, double cpuMsPerStep, int threads,
                       int replicas, double nd4jBuffersPerStep) throws Exception {
        double flops = gemms.flops() / steps;
        double gemmMs = gemms.nanos() / 1e6 / steps / replicas;
        double peak = gemms.products().isEmpty() ? Double.NaN
            : GemmPeak.gflopsPerSecond(gemms.products(), threads, replicas);
        return new StepCost(flops, gemmMs, flops / gemmMs / 1e6, peak, flops / stepMs / 1e6 / peak,
            gemmMs / stepMs, cpuMsPerStep, nd4jBuffersPerStep);
    }

    /** The JSON fields, without braces: gemm_gflop_per_step, gemm_ms_per_step, gemm_gflops_per_s, ... */
    String jsonFields() {
        return "\"gemm_gflop_per_step\": " + num("%.6f", gemmFlopsPerStep / 1e9) + ", \"gemm_ms_per_step\": "
            + num("%.2f", gemmMsPerStep) + ", \"gemm_share\": " + num("%.3f", gemmShare) + ", \"gemm_gflops_per_s\": "
            + num("%.2f", gemmGflopsPerS) + ", \"gemm_peak_gflops_per_s\": " + num("%.2f", peakGflopsPerS)
            + ", \"mfu\": " + num("%.3f", mfu) + ", \"cpu_ms_per_step\": " + num("%.2f", cpuMsPerStep)
            + ", \"nd4j_buffers_and_contexts_per_step\": " + num("%.1f", nd4jBuffersPerStep);
    }

    /** A JSON number, or null where there is none (no products were timed). */
    private static String num(String format, double x) {
        return Double.isFinite(x) ? String.format(Locale.ROOT, format, x) : "null";
    }
}
