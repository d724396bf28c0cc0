// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import spindle.data.tokenizer.Tokenizer;
import spindle.data.tokenizer.UnknownCharacterException;

/**
 * Plain text to token files: the whole text is encoded at once (so the tokenizer sees the same context
 * as at inference), then the first (1 - valFraction) of the tokens become {@code train.bin} and the rest
 * {@code val.bin}, in the smallest {@link TokenDtype} that holds the vocabulary.
 */
public final class TextCorpus {
    private TextCorpus() {
    }

    /**
     * The two token files written by {@link #prepare}.
     *
     * @param train path of train.bin
     * @param val path of val.bin
     * @param dtype element type of both files
     * @param trainTokens tokens in train.bin
     * @param valTokens tokens in val.bin
     */
    public record Split(Path train, Path val, TokenDtype dtype, long trainTokens, long valTokens) {
        /** Maps train.bin. */
        public TokenFile openTrain() throws IOException {
            return TokenFile.open(train, dtype);
        }

        /** Maps val.bin. */
        public TokenFile openVal() throws IOException {
            return TokenFile.open(val, dtype);
        }
    }

    /** Token ids of a UTF-8 text file; an empty file or a character the tokenizer lacks names the file and line. */
    public static int[] encode(Path textFile, Tokenizer tokenizer) throws IOException {
        return encode(textFile.toString(), TextFiles.read(textFile), tokenizer);
    }

    /** Token ids of {@code text}, read from {@code source} (named in errors). */
    public static int[] encode(String source, String text, Tokenizer tokenizer) throws DataFileException {
        if (text.isBlank()) {
            throw new DataFileException(source, 0, "is empty: no text to train on");
        }
        try {
            return tokenizer.encode(text);
        } catch (UnknownCharacterException e) {
            throw new DataFileException(source, TextFiles.lineOf(text, e.offset()), e.getMessage());
        }
    }

    /** Encodes a text file and writes {@code outDir/train.bin} and {@code outDir/val.bin}. */
    public static Split prepare(Path textFile, Tokenizer tokenizer, Path outDir, double valFraction) throws IOException {
        return prepare(textFile.toString(), TextFiles.read(textFile), tokenizer, outDir, valFraction);
    }

    /** As {@link #prepare(Path, Tokenizer, Path, double)} for text already in memory (e.g. an embedded corpus). */
    public static Split prepare(String source, String text, Tokenizer tokenizer, Path outDir, double valFraction)
        throws IOException {
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new IllegalArgumentException("valFraction must be in (0, 1), got " + valFraction);
        }
        int[] ids = encode(source, text, tokenizer);
        int cut = (int) Math.round(ids.length * (1 - valFraction));
        if (cut < 2 || ids.length - cut < 2) {
            throw new DataFileException(source, 0, "gives " + ids.length + " tokens, too few to split into train and"
                + " validation parts of at least 2 tokens each");
        }
        TokenDtype dtype = TokenDtype.forVocab(tokenizer.vocabSize());
        Files.createDirectories(outDir);
        Path train = outDir.resolve("train.bin");
        Path val = outDir.resolve("val.bin");
        TokenFile.write(train, Arrays.copyOfRange(ids, 0, cut), dtype);
        TokenFile.write(val, Arrays.copyOfRange(ids, cut, ids.length), dtype);
        return new Split(train, val, dtype, cut, ids.length - cut);
    }
}
