// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

/**
 * A character that a closed-vocabulary tokenizer cannot encode. {@link #offset()} is its char index in
 * the encoded string, so a caller that read the string from a file can name the line.
 */
public final class UnknownCharacterException extends IllegalArgumentException {
    private final int offset;
    private final int codePoint;

    /** Character {@code codePoint} at char index {@code offset} is not in a vocabulary of {@code vocabSize}. */
    public UnknownCharacterException(int offset, int codePoint, int vocabSize) {
        super(String.format("character '%s' (U+%04X) at offset %d is not in the vocabulary of %d tokens",
            new String(Character.toChars(codePoint)), codePoint, offset, vocabSize));
        this.offset = offset;
        this.codePoint = codePoint;
    }

    /** Char index of the character in the encoded string. */
    public int offset() {
        return offset;
    }

    /** The Unicode code point that has no id. */
    public int codePoint() {
        return codePoint;
    }
}
