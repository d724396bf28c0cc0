// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * Appends one row per step to {@code dir/metrics.csv} and one per evaluation to {@code dir/eval.csv}, with
 * a header when the file is new (a resumed run appends; rows of steps after the resumed checkpoint then
 * appear twice, the later ones being the run that continued). Empty balance_loss means the objective
 * reported none.
 */
public final class CsvLogger implements MetricLogger {
    /** Columns of metrics.csv. */
    public static final String[] STEP_COLUMNS = {"step", "loss", "balance_loss", "lr", "grad_norm", "tokens",
        "tokens_per_second", "seconds", "peak_rss_bytes"};
    /** Columns of eval.csv. */
    public static final String[] EVAL_COLUMNS = {"step", "eval_loss"};
    private final Path dir;
    private CSVPrinter steps;
    private CSVPrinter evals;

    /** Writes into {@code dir}, created when the run starts. */
    public CsvLogger(Path dir) {
        this.dir = dir;
    }

    @Override
    public void start(long firstStep, long maxSteps) throws IOException {
        if (steps == null) {
            Files.createDirectories(dir);
            steps = open(dir.resolve("metrics.csv"), STEP_COLUMNS);
            evals = open(dir.resolve("eval.csv"), EVAL_COLUMNS);
        }
    }

    @Override
    public void logStep(StepMetrics m) throws IOException {
        start(m.step() - 1, m.step());
        double balance = m.balanceLoss();
        steps.printRecord(m.step(), m.loss(), Double.isNaN(balance) ? "" : balance, m.lr(), m.gradNorm(),
            m.tokens(), m.tokensPerSecond(), m.seconds(), m.peakRssBytes());
        steps.flush();
    }

    @Override
    public void logEval(long step, double evalLoss) throws IOException {
        start(step, step);
        evals.printRecord(step, evalLoss);
        evals.flush();
    }

    @Override
    public void close() throws IOException {
        if (steps != null) {
            steps.close();
            evals.close();
            steps = null;
            evals = null;
        }
    }

    private static CSVPrinter open(Path file, String[] columns) throws IOException {
        boolean fresh = !Files.exists(file) || Files.size(file) == 0;
        Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
        CSVFormat format = fresh ? CSVFormat.DEFAULT.builder().setHeader(columns).build() : CSVFormat.DEFAULT;
        return new CSVPrinter(w, format);
    }
}
