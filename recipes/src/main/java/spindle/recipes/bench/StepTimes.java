// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.ops.GemmMeter;
import spindle.trainers.Callback;
import spindle.trainers.StepMetrics;
import spindle.trainers.Trainer;

/**
 * The wall times of the steps after the warmup, the process's CPU time over them, and the last step's
 * metrics; records the products of those steps in {@link GemmMeter}.
 */
final class StepTimes implements Callback {
    private final int warmup;
    private final List<Double> millis = new ArrayList<>();
    private StepMetrics last;
    private long cpuAtWarmup;
    private long cpuAtLast;
    private long idsAtWarmup;   // ND4J's deallocator ids: one per DataBuffer (data or shape info, views too) or op context
    private long idsAtLast;
    private double[] commAtWarmup = new double[3];   // bytes, seconds in MPI_Allreduce, seconds waited
    private double[] commAtLast = new double[3];

    StepTimes(int warmup) {
        this.warmup = warmup;
    }

    @Override
    public void onStep(StepMetrics m, Trainer trainer) {
        if (m.step() > warmup) {
            millis.add(m.seconds() * 1e3);
            cpuAtLast = processCpuNanos();
            idsAtLast = Nd4j.getDeallocatorService().nextValue();
            commAtLast = comm(trainer);
        } else if (m.step() == warmup) {
            GemmMeter.start();
            cpuAtWarmup = processCpuNanos();
            idsAtWarmup = Nd4j.getDeallocatorService().nextValue();
            commAtWarmup = comm(trainer);
        }
        last = m;
    }

    /** CPU time of the whole process (every thread: BLAS's and OpenMP's too) per timed step. */
    double cpuMillisPerStep() {
        return (cpuAtLast - cpuAtWarmup) / 1e6 / millis.size();
    }

    /**
     * ND4J DataBuffers (data and shape info, views included) and custom-op contexts created per timed step: each
     * takes an id from ND4J's deallocator service and registers for cleanup, about 10 us of CPU apiece. Reading
     * the id counter takes an id too, once per timed step, which is subtracted.
     */
    double nd4jBuffersAndContextsPerStep() {
        return (double) (idsAtLast - idsAtWarmup - millis.size()) / millis.size();
    }

    private static double[] comm(Trainer trainer) {
        var c = trainer.communication();
        return new double[] {c.bytes(), c.commSeconds(), c.waitSeconds()};
    }

    /** The timed steps' gradient all-reduce (zeros in a single process). */
    Communication communication(int processes) {
        int n = millis.size();
        return new Communication(processes, (commAtLast[0] - commAtWarmup[0]) / n,
            (commAtLast[1] - commAtWarmup[1]) * 1e3 / n, (commAtLast[2] - commAtWarmup[2]) * 1e3 / n);
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }

    double median() {
        List<Double> sorted = new ArrayList<>(millis);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    /** The timed steps' count. */
    int count() {
        return millis.size();
    }

    StepMetrics last() {
        return last;
    }

    double min() {
        return Collections.min(millis);
    }
}
