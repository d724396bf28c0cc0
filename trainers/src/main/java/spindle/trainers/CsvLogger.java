// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;

/**
 * Appends one row per step to {@code dir/metrics.csv} and one per evaluation to {@code dir/eval.csv}, with
 * a header when the file is new. When a run starts at step N (a resume, or 0 for a fresh start) the rows of
 * later steps, written by a run that went on past its last checkpoint, are dropped first, so every step
 * appears once. Empty balance_loss means the objective reported none.
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
            steps = open(dir.resolve("metrics.csv"), STEP_COLUMNS, firstStep);
            evals = open(dir.resolve("eval.csv"), EVAL_COLUMNS, firstStep);
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

    private static CSVPrinter open(Path file, String[] columns, long firstStep) throws IOException {
        dropRowsAfter(file, firstStep);
        boolean fresh = !Files.exists(file) || Files.size(file) == 0;
        Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
        CSVFormat format = fresh ? CSVFormat.DEFAULT.builder().setHeader(columns).build() : CSVFormat.DEFAULT;
        return new CSVPrinter(w, format);
    }

    /** Rewrites {@code file} (temp file + rename) without the rows whose step is above {@code lastKept}. */
    private static void dropRowsAfter(Path file, long lastKept) throws IOException {
        if (!Files.exists(file) || Files.size(file) == 0) {
            return;
        }
        CSVFormat withHeader = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build();
        List<CSVRecord> kept = new ArrayList<>();
        List<String> header;
        try (CSVParser in = CSVParser.parse(file, StandardCharsets.UTF_8, withHeader)) {
            header = in.getHeaderNames();
            for (CSVRecord r : in) {
                if (Long.parseLong(r.get(0)) <= lastKept) {
                    kept.add(r);
                }
            }
        } catch (NumberFormatException | IllegalStateException | UncheckedIOException e) {
            throw new IOException(file + ": not a metrics file of this logger (" + e.getMessage() + ")", e);
        }
        Path tmp = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try (CSVPrinter out = new CSVPrinter(Files.newBufferedWriter(tmp, StandardCharsets.UTF_8),
                CSVFormat.DEFAULT.builder().setHeader(header.toArray(String[]::new)).build())) {
            for (CSVRecord r : kept) {
                out.printRecord(r);
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
