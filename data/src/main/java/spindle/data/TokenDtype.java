// SPDX-License-Identifier: Apache-2.0
package spindle.data;

/** Element type of a token file: little-endian unsigned 16-bit (nanoGPT's {@code .bin}) or signed 32-bit. */
public enum TokenDtype {
    UINT16(2, 65_535),
    INT32(4, Integer.MAX_VALUE);

    private final int bytes;
    private final int maxId;

    TokenDtype(int bytes, int maxId) {
        this.bytes = bytes;
        this.maxId = maxId;
    }

    /** Bytes per token. */
    public int bytes() {
        return bytes;
    }

    /** Largest id the type can hold. */
    public int maxId() {
        return maxId;
    }

    /** UINT16 when every id of a {@code vocabSize} vocabulary fits in it (GPT-2's 50,257 does), else INT32. */
    public static TokenDtype forVocab(int vocabSize) {
        return vocabSize <= UINT16.maxId + 1 ? UINT16 : INT32;
    }
}
