// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws the training loss (and the evaluation loss, when there is one) against the step into a PNG when
 * the run ends, with XChart; works headless (no display is needed to render into an image).
 */
public final class LossCurvePlot implements MetricLogger {
    private final Path png;
    private final int width;
    private final int height;
    private final List<Long> steps = new ArrayList<>();
    private final List<Double> losses = new ArrayList<>();
    private final List<Long> evalSteps = new ArrayList<>();
    private final List<Double> evalLosses = new ArrayList<>();

    /** An 800 x 500 plot written to {@code png}. */
    public LossCurvePlot(Path png) {
        this(png, 800, 500);
    }

    /** A plot of {@code width} x {@code height} pixels written to {@code png}. */
    public LossCurvePlot(Path png, int width, int height) {
        if (width < 100 || height < 100) {
            throw new IllegalArgumentException("plot size must be at least 100 x 100 pixels, got "
                + width + " x " + height);
        }
        this.png = png;
        this.width = width;
        this.height = height;
    }

    @Override
    public void logStep(StepMetrics m) {
        steps.add(m.step());
        losses.add(m.loss());
    }

    @Override
    public void logEval(long step, double evalLoss) {
        evalSteps.add(step);
        evalLosses.add(evalLoss);
    }

    /** Writes the PNG (through a temporary file, so a reader never sees half an image); no steps, no file. */
    @Override
    public void close() throws IOException {
        if (steps.isEmpty()) {
            return;
        }
        XYChart chart = new XYChartBuilder().width(width).height(height).title("Loss")
            .xAxisTitle("step").yAxisTitle("loss").build();
        chart.getStyler().setMarkerSize(4);
        chart.addSeries("train", steps, losses).setMarker(SeriesMarkers.NONE);
        if (!evalSteps.isEmpty()) {
            chart.addSeries("eval", evalSteps, evalLosses);
        }
        Path dir = png.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + png.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
        Files.move(tmp, png, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
