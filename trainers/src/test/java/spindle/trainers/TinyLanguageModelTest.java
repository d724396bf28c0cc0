// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.trainers.TensorFlowEvents.Event;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Losses;
import spindle.data.DataLoader;
import spindle.data.EmbeddedData;
import spindle.data.LoaderOptions;
import spindle.data.TextCorpus;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.layers.Embedding;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.Module;
import spindle.optim.Adam;
import spindle.optim.AdamOptions;
import spindle.optim.LrSchedule;
import spindle.optim.ParamGroups;

/** 200 AdamW steps of a tiny byte-level model on Moby-Dick, with every logger attached. */
class TinyLanguageModelTest {
    private static final int STEPS = 200;

    /** Embedding -> tanh(Linear) -> Linear over 256 byte values: a learned bigram model with a hidden layer. */
    static final class ByteModel extends Module {
        final Embedding embed;
        final Linear hidden;
        final Linear head;

        ByteModel(SplittableRandom rng) {
            embed = child("embed_tokens", new Embedding(256, 32, DataType.FLOAT, Init.normal(0, 1, rng)));
            hidden = child("hidden", new Linear(32, 64, true, DataType.FLOAT, Init.linearDefault(32, rng)));
            head = child("lm_head", new Linear(64, 256, true, DataType.FLOAT, Init.linearDefault(64, rng)));
        }

        Tensor logits(Tensor ids) {
            return head.forward(Activations.tanh(hidden.forward(embed.forward(ids))));
        }
    }

    @Test
    void lossFallsClearlyAndEveryLoggerWritesItsOutput(@TempDir Path dir) throws Exception {
        var split = TextCorpus.prepare(EmbeddedData.MOBY_DICK, EmbeddedData.mobyDick(), new ByteTokenizer(),
            dir.resolve("data"), 0.05);
        var train = new DataLoader(split.openTrain().windows(32), LoaderOptions.of(8).shuffled(0).dropLast());
        var val = new DataLoader(split.openVal().windows(32), LoaderOptions.of(8).shuffled(1).dropLast());
        var model = new ByteModel(new SplittableRandom(0));
        var optimizer = new Adam(ParamGroups.decayMatricesOnly(model.namedParameters(), 0.01),
            AdamOptions.adamW().withLr(1e-2));
        Objective lm = b -> StepLoss.of(Losses.crossEntropy(model.logits(Tensor.of(b.inputs())), Tensor.of(b.targets())));
        var options = TrainerOptions.defaults().withMaxSteps(STEPS).withEval(50, 10);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        var tensorBoard = new TensorBoardLogger(dir.resolve("tb"));
        var trainer = new Trainer(model, optimizer, LrSchedule.warmupCosine(10, STEPS, 0.1), lm, options)
            .addLogger(new ConsoleLogger(new PrintStream(console, true, StandardCharsets.UTF_8), 160))
            .addLogger(new CsvLogger(dir.resolve("csv")))
            .addLogger(tensorBoard)
            .addLogger(new LossCurvePlot(dir.resolve("loss.png")));

        FitResult r = trainer.fit(train, val);

        List<Double> losses = r.losses();
        double uniform = Math.log(256);
        double first = losses.get(0);
        double last20 = losses.subList(STEPS - 20, STEPS).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        System.out.printf("tiny byte LM: first loss %.4f, mean of last 20 %.4f, eval %.4f%n", first, last20, r.evalLoss());
        assertEquals(uniform, first, 0.5, "an untrained model is near the uniform loss ln 256");
        assertTrue(last20 < 0.65 * uniform, "training loss should fall clearly: " + first + " -> " + last20);
        assertTrue(r.evalLoss() < 0.7 * uniform, "held-out loss should fall too: " + r.evalLoss());

        List<CSVRecord> rows;
        try (Reader in = Files.newBufferedReader(dir.resolve("csv/metrics.csv"))) {
            rows = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(in).getRecords();
        }
        assertEquals(STEPS, rows.size());
        assertEquals(first, Double.parseDouble(rows.get(0).get("loss")));
        assertEquals(8 * 32, Long.parseLong(rows.get(7).get("tokens")));
        assertTrue(Long.parseLong(rows.get(STEPS - 1).get("peak_rss_bytes")) > 0, "peak RSS is measured");
        assertEquals(4, Files.readAllLines(dir.resolve("csv/eval.csv")).size() - 1, "evaluations at 50, 100, 150, 200");

        List<Event> events = EventFileWriterTest.readAll(tensorBoard.file());
        long losses200 = events.stream().filter(e -> e.hasSummary()
            && e.values().get(0).tag().equals("train/loss")).count();
        assertEquals(STEPS, losses200);

        BufferedImage png = ImageIO.read(dir.resolve("loss.png").toFile());
        assertEquals(800, png.getWidth());
        assertEquals(500, png.getHeight());

        String text = console.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("200/200") && text.contains("tok/s") && text.contains("lr ") && text.contains("eval "),
            "console output: " + text.substring(Math.max(0, text.length() - 300)));
    }
}
