// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pretrain's bad input is one line on stderr, exit 2, naming the file or the key, before any training step. */
class BadInputTest {
    @TempDir
    Path dir;

    private CommandRun pretrain(String... overrides) {
        String[] args = new String[overrides.length + 2];
        args[0] = "pretrain";
        args[1] = "output.dir=" + dir.resolve("run");
        System.arraycopy(overrides, 0, args, 2, overrides.length);
        return CommandRun.of(args);
    }

    private static void assertBadInput(CommandRun run, String... expected) {
        assertEquals(2, run.exit(), run.toString());
        assertTrue(run.oneLineError(), run.toString());
        for (String e : expected) {
            assertTrue(run.err().contains(e), "missing '" + e + "' in " + run);
        }
    }

    @Test
    void aBinaryTextNamesTheFileAndTheByteOffset() throws Exception {
        Path text = Files.write(dir.resolve("data.bin"), new byte[] {'a', 'b', '\n', 'c', (byte) 0xFF, 'd', 0, 1, 2});
        assertBadInput(pretrain("data.text=" + text), text + ":2: not valid UTF-8: byte 0xFF", "(file offset 4)");
    }

    @Test
    void aYamlSyntaxErrorNamesTheFileAndLine() throws Exception {
        Path yaml = Files.writeString(dir.resolve("broken.yaml"), "train:\n  lr: [1, 2\n  steps: 3\n");
        assertBadInput(CommandRun.of("pretrain", "--config", yaml.toString()),
            "config file " + yaml + ", line 3, column 8: not valid YAML: expected ',' or ']'",
            "while parsing a flow sequence at line 2");
    }

    @Test
    void nonsensicalValuesNameTheKeyAndWhatItAccepts() {
        assertBadInput(pretrain("train.lr=-1"), "config key 'train.lr' in the command line must be > 0 but is -1");
        assertBadInput(pretrain("data.seq=0"), "config key 'data.seq' in the command line must be >= 1 but is 0");
        assertBadInput(pretrain("data.batch=0"), "'data.batch'", ">= 1");
        assertBadInput(pretrain("train.steps=0"), "'train.steps'", ">= 1");
        assertBadInput(pretrain("train.eval_batches=0"), "'train.eval_batches'", ">= 1");
        assertBadInput(pretrain("checkpoint.keep_last=-1"), "'checkpoint.keep_last'", ">= 0");
        assertBadInput(pretrain("data.val_fraction=1"), "'data.val_fraction'", "> 0 and < 1");
        assertBadInput(pretrain("train.lr=[0.1"), "override 'train.lr=[0.1'", "not valid YAML");
    }

    @Test
    void aSequenceLongerThanTheModelPlacesNamesDataSeqAndTheLimit() {
        assertBadInput(pretrain("data.seq=600"),
            "data.seq 600 is more than the model's max_position_embeddings 512 (preset demo-llama)");
    }

    @Test
    void aValidationSplitShorterThanOneBatchNamesTheKeys() throws Exception {
        Path text = Files.writeString(dir.resolve("short.txt"), "Call me Ishmael. ".repeat(200));   // 3,400 bytes
        assertBadInput(pretrain("data.text=" + text, "data.seq=64", "data.batch=16"),
            "the validation split (data.val_fraction=0.05) of data.text has 170 tokens, too few for one batch of"
                + " data.batch=16 windows of data.seq=64 (1,025 tokens): raise data.val_fraction, or lower data.seq"
                + " or data.batch");
    }

    @Test
    void anUnknownKeyWithTheLastPartOfAKnownOneSuggestsIt() {
        assertBadInput(pretrain("eval_every=5"), "unknown config key 'eval_every'", "did you mean 'train.eval_every'?");
        assertBadInput(pretrain("training.eval_every=5"), "did you mean 'train.eval_every'?");
    }
}
