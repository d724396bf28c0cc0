// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar over the optimizer steps with the elapsed time and ETA, followed by the latest loss, lr,
 * tokens/s and, once there is one, the last evaluation loss:
 * {@code train 42% [=====>     ] 420/1000 (0:01:10 / 0:01:36) loss 2.3141 lr 3.00e-04 8120 tok/s eval 2.41}.
 */
public final class ConsoleLogger implements MetricLogger {
    private final PrintStream out;
    private final int width;
    private ProgressBar bar;
    private String evalPart = "";

    /**
     * Draws on {@code out}, usually System.err so that the bar does not mix with a program's output, as wide
     * as the terminal (80 columns when there is none: the metrics may then be cut).
     */
    public ConsoleLogger(PrintStream out) {
        this(out, -1);
    }

    /** Draws lines of at most {@code width} characters on {@code out} (-1: the terminal's width). */
    public ConsoleLogger(PrintStream out, int width) {
        if (width != -1 && width < 40) {
            throw new IllegalArgumentException("console width must be -1 (terminal) or >= 40, got " + width);
        }
        this.out = out;
        this.width = width;
    }

    @Override
    public void start(long firstStep, long maxSteps) {
        close();
        bar = new ProgressBarBuilder()
            .setTaskName("train")
            .setInitialMax(Math.max(maxSteps, firstStep))   // a rerun with fewer steps than done: 100%, not 280%
            .startsFrom(firstStep, Duration.ZERO)   // a resumed run's ETA counts only the steps left
            .setStyle(ProgressBarStyle.ASCII)
            .setUpdateIntervalMillis(500)
            .setConsumer(new ConsoleProgressBarConsumer(out, width))
            .build();
    }

    @Override
    public void logStep(StepMetrics m) {
        if (bar == null) {
            start(m.step() - 1, m.step());
        }
        bar.stepTo(m.step());
        bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f lr %.2e %.0f tok/s%s",
            m.loss(), m.lr(), m.tokensPerSecond(), evalPart));
    }

    @Override
    public void logEval(long step, double evalLoss) {
        evalPart = String.format(Locale.ROOT, " eval %.4f", evalLoss);
    }

    /** Draws the bar a last time and ends its line. */
    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
