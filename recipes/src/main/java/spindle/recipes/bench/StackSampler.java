// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.util.Map;
import java.util.TreeMap;

/**
 * Samples the Java stacks of the threads that run training steps every {@code periodMicros} and sorts each sample
 * by {@link StepSample}: phase, kind of work, op and layer. A thread in native code (a BLAS or ND4J kernel) is
 * sampled where it is, so native time is counted without the safepoint bias of Java frames.
 */
final class StackSampler implements AutoCloseable {
    private final Thread thread;
    private final long periodMicros;
    private volatile boolean running = true;
    private final Map<String, long[]> counts = new TreeMap<>();   // "dimension\tname" -> {samples}
    private long samples;

    StackSampler(long periodMicros) {
        this.periodMicros = periodMicros;
        thread = new Thread(this::loop, "spindle-stack-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        Thread self = Thread.currentThread();
        while (running) {
            for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                if (e.getKey() != self) {
                    StepSample s = StepSample.of(e.getValue());
                    if (s != null) {
                        add(s);
                    }
                }
            }
            try {
                Thread.sleep(periodMicros / 1000, (int) (periodMicros % 1000) * 1000);
            } catch (InterruptedException ex) {
                return;
            }
        }
    }

    private synchronized void add(StepSample s) {
        samples++;
        bump("phase\t" + s.phase());
        bump("kind\t" + s.kind());
        bump("op\t" + s.op());
        bump("layer\t" + s.layer());
        bump("op x kind\t" + s.op() + " / " + s.kind());
    }

    private void bump(String key) {
        counts.computeIfAbsent(key, k -> new long[1])[0]++;
    }

    /** Samples per "dimension\tname" (dimensions: phase, kind, op, layer, op x kind), and their total. */
    synchronized Map<String, Long> counts() {
        Map<String, Long> out = new TreeMap<>();
        counts.forEach((k, v) -> out.put(k, v[0]));
        return out;
    }

    synchronized long samples() {
        return samples;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join();
    }
}
