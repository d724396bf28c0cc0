// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes each step's metrics as TensorBoard scalars under "train/" (loss, lr, grad_norm, tokens_per_second,
 * peak_rss_gib and every auxiliary value such as balance_loss) and evaluations as "eval/loss", into a new
 * event file in {@code logDir}. View with {@code tensorboard --logdir logDir}.
 */
public final class TensorBoardLogger implements MetricLogger {
    private static final double GIB = 1024.0 * 1024 * 1024;
    private final Path logDir;
    private EventFileWriter writer;
    private Path file;

    /** Opens the event file when the run starts. */
    public TensorBoardLogger(Path logDir) {
        this.logDir = logDir;
    }

    @Override
    public void start(long firstStep, long maxSteps) throws IOException {
        if (writer == null) {
            writer = new EventFileWriter(logDir);
            file = writer.file();
        }
    }

    @Override
    public void logStep(StepMetrics m) throws IOException {
        start(m.step() - 1, m.step());
        writer.addScalar("train/loss", m.loss(), m.step());
        for (var e : m.aux().entrySet()) {
            writer.addScalar("train/" + e.getKey(), e.getValue(), m.step());
        }
        writer.addScalar("train/lr", m.lr(), m.step());
        writer.addScalar("train/grad_norm", m.gradNorm(), m.step());
        writer.addScalar("train/tokens_per_second", m.tokensPerSecond(), m.step());
        writer.addScalar("train/peak_rss_gib", m.peakRssBytes() / GIB, m.step());
        writer.flush();
    }

    @Override
    public void logEval(long step, double evalLoss) throws IOException {
        start(step, step);
        writer.addScalar("eval/loss", evalLoss, step);
        writer.flush();
    }

    /** The event file last written (each run opens a new one), or null before the first run. */
    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        if (writer != null) {
            writer.close();
            writer = null;
        }
    }
}
