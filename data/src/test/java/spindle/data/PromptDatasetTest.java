// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.data.tokenizer.CharTokenizer;

class PromptDatasetTest {
    private static final int M = Batch.IGNORE_INDEX;
    private static final ByteTokenizer BYTES = new ByteTokenizer(List.of("<|endoftext|>"));
    private static final String QA = """
        {"prompt": "Q:ab", "response": "cd"}

        {"prompt": "Q:x", "response": "yz", "extra": 1}
        """;

    @Test
    void masksLossOnPromptTokens() throws Exception {
        PromptDataset d = PromptDataset.parse("qa.jsonl", QA, BYTES, PromptOptions.of(64).withEos("<|endoftext|>"));
        assertEquals(2, d.size());
        // s = "Q:abcd" + EOS; inputs s[0..6), targets s[1..7) with the 3 prompt-token targets masked.
        assertArrayEquals(new int[] {'Q', ':', 'a', 'b', 'c', 'd'}, d.inputs(0));
        assertArrayEquals(new int[] {M, M, M, 'c', 'd', 256}, d.targets(0));
    }

    @Test
    void paddedBatchesPadToTheLongestRow() throws Exception {
        PromptDataset d = PromptDataset.parse("qa.jsonl", QA, BYTES, PromptOptions.of(64));
        Batch b = d.batch(new int[] {1, 0});
        assertArrayEquals(new long[] {2, 5}, b.inputs().shape());
        assertArrayEquals(new long[] {'Q', ':', 'x', 'y', 0}, b.inputs().getRow(0).toLongVector());
        assertArrayEquals(new long[] {M, M, 'y', 'z', M}, b.targets().getRow(0).toLongVector());
    }

    @Test
    void packedRowsHaveExactlyMaxSeqLen() throws Exception {
        PromptDataset d = PromptDataset.parse("qa.jsonl", QA, BYTES, PromptOptions.of(6).packed());
        // Positions: 5 of "Q:abcd" + 4 of "Q:xyz" = 9 -> rows of 6 and 3; no target crosses examples.
        assertEquals(2, d.size());
        assertArrayEquals(new int[] {'Q', ':', 'a', 'b', 'c', 'Q'}, d.inputs(0));
        assertArrayEquals(new int[] {M, M, M, 'c', 'd', M}, d.targets(0));
        assertArrayEquals(new int[] {':', 'x', 'y'}, d.inputs(1));
        assertArrayEquals(new int[] {M, 'y', 'z'}, d.targets(1));
    }

    @Test
    void longExamplesAreCutButAPromptFillingTheWindowIsAnError() throws Exception {
        PromptDataset d = PromptDataset.parse("qa.jsonl", "{\"prompt\": \"ab\", \"response\": \"cdefg\"}", BYTES,
            PromptOptions.of(4));
        assertArrayEquals(new int[] {'a', 'b', 'c', 'd'}, d.inputs(0));
        assertArrayEquals(new int[] {M, 'c', 'd', 'e'}, d.targets(0));
        var e = assertThrows(DataFileException.class, () -> PromptDataset.parse("qa.jsonl",
            "{\"prompt\": \"abcdefgh\", \"response\": \"x\"}", BYTES, PromptOptions.of(4)));
        assertEquals("qa.jsonl:1: the prompt is 8 tokens and leaves no response token within max_seq_len 4", e.getMessage());
    }

    @Test
    void malformedLinesNameFileAndLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\", \"response\": \n");
        var e = assertThrows(DataFileException.class, () -> PromptDataset.read(f, BYTES, PromptOptions.of(8)));
        assertTrue(e.getMessage().startsWith(f + ":2: not valid JSON"), e.getMessage());
        e = assertThrows(DataFileException.class, () -> PromptDataset.parse("qa.jsonl",
            "\n\n{\"question\": \"a\", \"answer\": \"b\"}", BYTES, PromptOptions.of(8)));
        assertEquals("qa.jsonl:3: no \"prompt\" field (the fields are [question, answer])", e.getMessage());
        e = assertThrows(DataFileException.class, () -> PromptDataset.parse("qa.jsonl",
            "{\"prompt\": 1, \"response\": \"b\"}", BYTES, PromptOptions.of(8)));
        assertEquals("qa.jsonl:1: \"prompt\" must be a string, not NUMBER", e.getMessage());
        e = assertThrows(DataFileException.class, () -> PromptDataset.parse("qa.jsonl", "[1, 2]", BYTES, PromptOptions.of(8)));
        assertTrue(e.getMessage().startsWith("qa.jsonl:1: expected a JSON object"), e.getMessage());
    }

    @Test
    void emptyFilesAndUnknownCharactersAreErrors() {
        var e = assertThrows(DataFileException.class, () -> PromptDataset.parse("e.jsonl", "", BYTES, PromptOptions.of(8)));
        assertEquals("e.jsonl: has no examples (the file is empty)", e.getMessage());
        CharTokenizer chars = CharTokenizer.fit("abc", List.of());
        e = assertThrows(DataFileException.class, () -> PromptDataset.parse("c.jsonl",
            "{\"prompt\": \"ab\", \"response\": \"c\"}\n{\"prompt\": \"ab\", \"response\": \"cé\"}", chars, PromptOptions.of(8)));
        assertTrue(e.getMessage().startsWith("c.jsonl:2: in \"response\": character 'é'"), e.getMessage());
    }

    @Test
    void otherFieldNamesCanBeMapped() throws Exception {
        PromptDataset d = PromptDataset.parse("qa.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}", BYTES,
            PromptOptions.of(8).withFields("instruction", "output"));
        assertArrayEquals(new int[] {'b'}, d.targets(0));
    }

    @Test
    void embeddedQuizSetLoadsWithItsHeldOutSplit() throws Exception {
        PromptOptions o = PromptOptions.of(128).withEos("<|endoftext|>");
        PromptDataset train = PromptDataset.readResource(EmbeddedData.QUIZ_TRAIN, BYTES, o);
        PromptDataset test = PromptDataset.readResource(EmbeddedData.QUIZ_TEST, BYTES, o);
        assertTrue(train.size() > 1000 && test.size() > 100, train.size() + " / " + test.size());
        assertTrue(EmbeddedData.read(EmbeddedData.QUIZ_TRAIN).contains("What is the capital of Algeria?"));
    }

    @Test
    void aResponseEndIsLearnedAsTheLastTargetWhereThereIsNoEosToken() throws Exception {
        ByteTokenizer plain = new ByteTokenizer();
        PromptDataset d = PromptDataset.parse("qa.jsonl", QA, plain, PromptOptions.of(64).withResponseEnd("\n"));
        assertArrayEquals(new int[] {'Q', ':', 'a', 'b', 'c', 'd'}, d.inputs(0));
        assertArrayEquals(new int[] {M, M, M, 'c', 'd', '\n'}, d.targets(0));
    }

    @Test
    void pairsKeepTheirTextLineAndAcceptedAnswers() throws Exception {
        List<PromptPair> pairs = PromptPairs.parse("qa.jsonl", QA + "{\"prompt\": \"Q:\", \"response\": \" Sana'a\","
            + " \"answers\": [\"Sana'a\", \"Sanaa\"]}", PromptOptions.of(8));
        assertEquals(3, pairs.size());
        assertEquals(new PromptPair("qa.jsonl", 3, "Q:x", "yz", List.of("yz")), pairs.get(1));
        assertTrue(pairs.get(2).accepts(" Sanaa\n") && pairs.get(2).accepts("Sana'a"));
        assertTrue(!pairs.get(2).accepts("Sana"));
        var e = assertThrows(DataFileException.class, () -> PromptPairs.parse("qa.jsonl",
            "{\"prompt\": \"a\", \"response\": \"b\", \"answers\": \"b\"}", PromptOptions.of(8)));
        assertEquals("qa.jsonl:1: \"answers\" must be a non-empty list of strings, got \"b\"", e.getMessage());
        List<PromptPair> quiz = PromptPairs.readResource(EmbeddedData.QUIZ_TEST, PromptOptions.of(8));
        assertTrue(quiz.stream().allMatch(p -> p.accepts(p.response())), "each quiz response is an accepted answer");
    }
}
