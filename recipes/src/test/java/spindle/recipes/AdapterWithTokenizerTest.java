// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.GradMode;
import spindle.layers.Init;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.lora.LoraConfig;
import spindle.layers.lora.LoraModels;
import spindle.layers.lora.PeftAdapters;
import spindle.layers.lora.TargetModules;

/**
 * An adapter on a base with a tokenizer.json (a 10-word vocabulary that byte ids would overflow): the merged model
 * carries the base's tokenizer files, so it generates what the base with the adapter does, and eval --adapter scores
 * the base with the adapter as eval scores the merged model.
 */
class AdapterWithTokenizerTest {
    @TempDir
    static Path dir;

    static Path base;
    static Path adapter;

    @BeforeAll
    static void baseAndTrainedLookingAdapter() throws Exception {
        base = Files.createDirectories(dir.resolve("base"));
        HfModelDirTest.writeModelDir(base, false);
        LoraConfig config = LoraConfig.of(2, 4, TargetModules.names(List.of("q_proj", "v_proj", "down_proj")));
        AdaptedModel adapted = LoraModels.fromPretrained(base, DataType.FLOAT, config, 1);
        SplittableRandom rng = new SplittableRandom(2);
        try (GradMode.Scope off = GradMode.disable()) {   // B = 0 would make the adapter a no-op
            adapted.adapters().values().forEach(l -> l.loraB().weight().mutate(
                b -> b.assign(Init.normal(0, 0.5, rng).create(DataType.FLOAT, b.shape()))));
        }
        adapter = dir.resolve("adapter");
        PeftAdapters.save(adapted, config, base.toString(), adapter);
    }

    @Test
    void theMergedModelCarriesTheTokenizerAndGeneratesAsTheAdaptedBase() throws Exception {
        Path merged = dir.resolve("merged");
        CommandRun merge = CommandRun.of("merge", "--model-dir", base.toString(), "--adapter", adapter.toString(),
            "--out", merged.toString());
        assertEquals(0, merge.exit(), merge.toString());
        for (String name : List.of("tokenizer.json", "tokenizer_config.json")) {
            assertArrayEquals(Files.readAllBytes(base.resolve(name)), Files.readAllBytes(merged.resolve(name)), name);
        }
        CommandRun fromMerged = generate("--model-dir", merged.toString());
        CommandRun fromAdapter = generate("--model-dir", base.toString(), "--adapter", adapter.toString());
        assertEquals(0, fromMerged.exit(), fromMerged.toString());
        assertEquals(0, fromAdapter.exit(), fromAdapter.toString());
        assertTrue(fromMerged.out().startsWith("<s> call me ishmael"), fromMerged.out());
        assertEquals(fromAdapter.out(), fromMerged.out());
    }

    @Test
    void evalWithAnAdapterScoresWhatTheMergedModelScores() throws Exception {
        Path merged = dir.resolve("merged-for-eval");
        assertEquals(0, CommandRun.of("merge", "--model-dir", base.toString(), "--adapter", adapter.toString(),
            "--out", merged.toString()).exit());
        Path text = Files.writeString(dir.resolve("text.txt"), "call me ishmael . the whale . the sea . ".repeat(100));
        String adapted = loss(eval("--model-dir", base.toString(), "--adapter", adapter.toString(), "--text",
            text.toString()));
        assertEquals(loss(eval("--model-dir", merged.toString(), "--text", text.toString())), adapted);
        assertNotEquals(loss(eval("--model-dir", base.toString(), "--text", text.toString())), adapted,
            "the adapter changes the loss");
    }

    private static CommandRun generate(String... modelArgs) {
        List<String> args = new java.util.ArrayList<>(List.of("generate", "--prompt", "call me ishmael",
            "--max-new-tokens", "6", "--temperature", "0"));
        args.addAll(List.of(modelArgs));
        return CommandRun.of(args.toArray(String[]::new));
    }

    private static CommandRun eval(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of("eval", "--split", "train", "--seq", "8", "--batches", "2"));
        all.addAll(List.of(args));
        CommandRun run = CommandRun.of(all.toArray(String[]::new));
        assertEquals(0, run.exit(), run.toString());
        return run;
    }

    /** The loss field of eval's JSON line, as printed (4 decimals). */
    private static String loss(CommandRun run) {
        return run.out().replaceAll("(?s).*\"loss\": ([0-9.]+).*", "$1");
    }
}
