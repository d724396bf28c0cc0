// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.data.DataFileException;

class ByteCharTokenizerTest {

    @Test
    void byteIdsAreTheUtf8Bytes() {
        ByteTokenizer t = new ByteTokenizer();
        assertArrayEquals(new int[] {'h', 'i', 0xC3, 0xA9}, t.encode("hié"));
        assertEquals(256, t.vocabSize());
        String s = "Whale 🐋 — ĦĚ\n";
        assertEquals(s, t.decode(t.encode(s)));
    }

    @Test
    void byteSpecialTokensFollowTheBytes() {
        ByteTokenizer t = new ByteTokenizer(List.of("<|endoftext|>", "<pad>"));
        assertEquals(258, t.vocabSize());
        assertEquals(256, t.specialToken("<|endoftext|>"));
        assertArrayEquals(new int[] {'a', 256, 'b'}, t.encodeWithSpecial("a<|endoftext|>b"));
        assertEquals("a<|endoftext|>b", t.decode(new int[] {'a', 256, 'b'}));
        var e = assertThrows(IllegalArgumentException.class, () -> t.specialToken("<s>"));
        assertTrue(e.getMessage().contains("[<|endoftext|>, <pad>]"), e.getMessage());
    }

    @Test
    void invalidUtf8DecodesToReplacementCharacters() {
        assertEquals("a\uFFFD", new ByteTokenizer().decode(new int[] {'a', 0xC3}));
    }

    @Test
    void idsPastTheVocabularyDecodeToNothingAsHuggingFaceSkipsThem() {
        // a model's vocab_size padded past its tokenizer's: those rows can be sampled
        assertEquals("hi", new ByteTokenizer().decode(new int[] {'h', 256, 'i', 269}));
        assertEquals("a<|endoftext|>", new ByteTokenizer(List.of("<|endoftext|>")).decode(new int[] {'a', 256, 257}));
        CharTokenizer chars = CharTokenizer.fit("ab", List.of());
        assertEquals("ba", chars.decode(new int[] {1, 7, 0}));
        var e = assertThrows(IllegalArgumentException.class, () -> new ByteTokenizer().decode(new int[] {'a', -1}));
        assertTrue(e.getMessage().contains("id -1 at index 1 is negative"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> chars.decode(new int[] {-2}));
    }

    @Test
    void charVocabularyIsTheSortedAlphabetOfTheCorpus() {
        CharTokenizer t = CharTokenizer.fit("hello, world", List.of("<|endoftext|>"));
        assertEquals(" ,dehlorw", t.alphabet());
        assertEquals(10, t.vocabSize());
        assertArrayEquals(new int[] {4, 3, 5}, t.encode("hel"));
        assertEquals("world<|endoftext|>", t.decode(t.encodeWithSpecial("world<|endoftext|>")));
    }

    @Test
    void charTokenizerCountsCodePointsNotChars() {
        CharTokenizer t = CharTokenizer.fit("a🐋b", List.of());
        assertEquals(3, t.vocabSize());
        assertEquals("🐋ab", t.decode(t.encode("🐋ab")));
    }

    @Test
    void unknownCharacterIsAnErrorWithItsOffset() {
        CharTokenizer t = CharTokenizer.fit("abc", List.of());
        var e = assertThrows(UnknownCharacterException.class, () -> t.encode("abcé"));
        assertEquals(3, e.offset());
        assertEquals('é', e.codePoint());
        assertTrue(e.getMessage().contains("'é' (U+00E9) at offset 3"), e.getMessage());
    }

    @Test
    void charTokenizerSavesAndLoads(@TempDir Path dir) throws Exception {
        CharTokenizer t = CharTokenizer.fit("Call me Ishmael.", List.of("<|endoftext|>"));
        t.save(dir.resolve("chars.json"));
        CharTokenizer back = CharTokenizer.load(dir.resolve("chars.json"));
        assertEquals(t.alphabet(), back.alphabet());
        assertEquals(t.specialTokens(), back.specialTokens());
        Files.writeString(dir.resolve("bad.json"), "{\"format\": \"spindle-char\",\n \"alphabet\": }");
        var e = assertThrows(DataFileException.class, () -> CharTokenizer.load(dir.resolve("bad.json")));
        assertTrue(e.getMessage().contains("bad.json:2: not valid JSON"), e.getMessage());
    }
}
