// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.data.DataFileException;
import spindle.data.EmbeddedData;

class BpeTokenizerTest {
    private static final List<String> EOT = List.of("<|endoftext|>");
    private static String moby;
    private static BpeTokenizer trained;

    @BeforeAll
    static void trainOnMobyDick() throws Exception {
        moby = EmbeddedData.mobyDick();
        trained = BpeTokenizer.train(moby.substring(0, 200_000), 768, EOT);
    }

    @Test
    void reproducesTheTextbookExample() {
        // Wikipedia's "Byte pair encoding" example: aaabdaaabac -> Z=aa, Y=ab, X=ZY -> XdXac.
        BpeTokenizer t = BpeTokenizer.train("aaabdaaabac", 300, List.of());
        assertEquals(3, t.mergeCount(), "stops once no pair occurs twice");
        assertEquals(259, t.vocabSize());
        assertArrayEquals(new int[] {258, 'd', 258, 'a', 'c'}, t.encode("aaabdaaabac"));
        assertEquals("aaab", new String(t.tokenBytes(258), StandardCharsets.US_ASCII));
    }

    @Test
    void trainedVocabularyHasTheRequestedSizeWithSpecialTokensLast() {
        assertEquals(768, trained.vocabSize());
        assertEquals(767, trained.specialToken("<|endoftext|>"));
        assertEquals(767 - 256, trained.mergeCount());
    }

    @Test
    void roundTripsTheWholeBookAndUnseenText() {
        int[] ids = trained.encode(moby);
        assertEquals(moby, trained.decode(ids));
        String unseen = "naïve café, 日本語, emoji 👍🏽, tabs\t\tand\r\nCRLF, <|endoftext|> as text";
        assertEquals(unseen, trained.decode(trained.encode(unseen)));
        String held = moby.substring(600_000, 700_000);
        double bytesPerToken = held.getBytes(StandardCharsets.UTF_8).length / (double) trained.encode(held).length;
        assertTrue(bytesPerToken > 2.0, "merges learned on one part compress another: " + bytesPerToken + " bytes/token");
    }

    @Test
    void specialTokensEncodeOnlyWhenAskedFor() {
        int eot = trained.specialToken("<|endoftext|>");
        int[] ids = trained.encodeWithSpecial("Call me Ishmael.<|endoftext|>Whale");
        assertEquals(eot, ids[trained.encode("Call me Ishmael.").length]);
        assertTrue(Arrays.stream(trained.encode("<|endoftext|>")).noneMatch(i -> i == eot));
        assertEquals("Call me Ishmael.<|endoftext|>Whale", trained.decode(ids));
    }

    @Test
    void trainingIsDeterministic(@TempDir Path dir) throws Exception {
        BpeTokenizer again = BpeTokenizer.train(moby.substring(0, 200_000), 768, EOT);
        trained.save(dir.resolve("a.json"));
        again.save(dir.resolve("b.json"));
        assertEquals(Files.readString(dir.resolve("a.json")), Files.readString(dir.resolve("b.json")));
    }

    @Test
    void savesAndLoadsBothFormats(@TempDir Path dir) throws Exception {
        String text = moby.substring(300_000, 320_000);
        trained.save(dir.resolve("bpe.json"));
        BpeTokenizer own = BpeTokenizer.load(dir.resolve("bpe.json"));
        trained.saveGpt2(dir.resolve("encoder.json"), dir.resolve("vocab.bpe"));
        BpeTokenizer gpt2 = BpeTokenizer.loadGpt2(dir.resolve("encoder.json"), dir.resolve("vocab.bpe"));
        for (BpeTokenizer t : List.of(own, gpt2)) {
            assertArrayEquals(trained.encode(text), t.encode(text));
            assertEquals(trained.vocabSize(), t.vocabSize());
            assertEquals(trained.specialTokens(), t.specialTokens());
        }
    }

    @Test
    void skipsIdsPastTheVocabularyAndRejectsNegativeOnes() {
        assertEquals(trained.decode(new int[] {5}), trained.decode(new int[] {5, 9999}), "a padded row decodes to nothing");
        var e = assertThrows(IllegalArgumentException.class, () -> trained.decode(new int[] {5, -1}));
        assertTrue(e.getMessage().contains("id -1 at index 1"), e.getMessage());
    }

    @Test
    void malformedVocabBpeNamesFileAndLine(@TempDir Path dir) throws Exception {
        trained.saveGpt2(dir.resolve("encoder.json"), dir.resolve("vocab.bpe"));
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(dir.resolve("vocab.bpe")));
        lines.set(3, "no-space-here");
        Files.write(dir.resolve("vocab.bpe"), lines);
        var e = assertThrows(DataFileException.class,
            () -> BpeTokenizer.loadGpt2(dir.resolve("encoder.json"), dir.resolve("vocab.bpe")));
        assertTrue(e.getMessage().contains("vocab.bpe:4: expected two tokens"), e.getMessage());

        lines.set(3, "Ġ zzzunknown");
        Files.write(dir.resolve("vocab.bpe"), lines);
        e = assertThrows(DataFileException.class,
            () -> BpeTokenizer.loadGpt2(dir.resolve("encoder.json"), dir.resolve("vocab.bpe")));
        assertTrue(e.getMessage().contains("vocab.bpe:4: token 'zzzunknown' is not in encoder.json"), e.getMessage());
    }

    @Test
    void malformedJsonFilesNameFileAndLine(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("encoder.json"), "{\"a\": 0,\n\"b\": 1,\n\"c\" 2}");
        Files.writeString(dir.resolve("vocab.bpe"), "#version: 0.2\n");
        var e = assertThrows(DataFileException.class,
            () -> BpeTokenizer.loadGpt2(dir.resolve("encoder.json"), dir.resolve("vocab.bpe")));
        assertTrue(e.getMessage().contains("encoder.json:3: not valid JSON"), e.getMessage());

        Files.writeString(dir.resolve("bpe.json"), "{\"format\": \"something-else\"}");
        e = assertThrows(DataFileException.class, () -> BpeTokenizer.load(dir.resolve("bpe.json")));
        assertTrue(e.getMessage().contains("not a Spindle BPE file"), e.getMessage());

        Files.writeString(dir.resolve("empty.json"), "");
        e = assertThrows(DataFileException.class, () -> BpeTokenizer.load(dir.resolve("empty.json")));
        assertTrue(e.getMessage().contains("empty.json: is empty"), e.getMessage());
    }
}
