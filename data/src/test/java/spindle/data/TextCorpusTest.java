// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.data.tokenizer.ByteTokenizer;
import spindle.data.tokenizer.CharTokenizer;

class TextCorpusTest {

    @Test
    void mobyDickIsEmbedded() throws Exception {
        String moby = EmbeddedData.mobyDick();
        assertTrue(moby.startsWith("CHAPTER 1. Loomings.\n\nCall me Ishmael."));
        assertEquals(1_204_997, moby.getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void preparesTrainAndValidationTokenFiles(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("tiny.txt");
        Files.writeString(text, "abcdefghij");
        TextCorpus.Split s = TextCorpus.prepare(text, new ByteTokenizer(), dir.resolve("out"), 0.2);
        assertEquals(TokenDtype.UINT16, s.dtype());
        assertEquals(8, s.trainTokens());
        assertEquals(2, s.valTokens());
        int[] val = new int[2];
        s.openVal().read(0, val);
        assertArrayEquals(new int[] {'i', 'j'}, val);
        assertEquals('a', s.openTrain().get(0));
    }

    @Test
    void preparesTheEmbeddedCorpus(@TempDir Path dir) throws Exception {
        TextCorpus.Split s = TextCorpus.prepare(EmbeddedData.MOBY_DICK, EmbeddedData.mobyDick(), new ByteTokenizer(),
            dir, 0.1);
        assertEquals(1_204_997, s.trainTokens() + s.valTokens());
        assertEquals((s.trainTokens() - 257) / 256 + 1, s.openTrain().windows(256).size());
    }

    @Test
    void invalidUtf8NamesFileLineAndByte(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("latin1.txt");
        Files.write(f, "line one\nline two\ncaf\u00e9 au lait\n".getBytes(StandardCharsets.ISO_8859_1));
        var e = assertThrows(DataFileException.class, () -> TextCorpus.encode(f, new ByteTokenizer()));
        assertEquals(f + ":3: not valid UTF-8: byte 0xE9 at byte 4 of the line (file offset 21); save the file as UTF-8"
            + " (it may be Latin-1 or Windows-1252)", e.getMessage());
        Path u16 = dir.resolve("utf16.txt");
        Files.write(u16, "hi\n".getBytes(StandardCharsets.UTF_16LE));
        e = assertThrows(DataFileException.class, () -> TextCorpus.encode(u16, new ByteTokenizer()));
        assertTrue(e.getMessage().contains("looks like UTF-16"), e.getMessage());
    }

    @Test
    void unknownCharacterNamesTheLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("text.txt");
        Files.writeString(f, "abc\nab\nabz\n");
        CharTokenizer t = CharTokenizer.fit("abc\n", List.of());
        var e = assertThrows(DataFileException.class, () -> TextCorpus.encode(f, t));
        assertTrue(e.getMessage().startsWith(f + ":3: character 'z' (U+007A)"), e.getMessage());
    }

    @Test
    void emptyAndTooShortTextsAreErrors(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("empty.txt");
        Files.writeString(f, "\n\n");
        var e = assertThrows(DataFileException.class, () -> TextCorpus.prepare(f, new ByteTokenizer(), dir, 0.1));
        assertEquals(f + ": is empty: no text to train on", e.getMessage());
        Files.writeString(f, "abc");
        e = assertThrows(DataFileException.class, () -> TextCorpus.prepare(f, new ByteTokenizer(), dir, 0.1));
        assertTrue(e.getMessage().contains("too few to split"), e.getMessage());
    }
}
