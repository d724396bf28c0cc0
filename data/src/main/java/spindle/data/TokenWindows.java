// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.util.Arrays;

/**
 * Language-model examples cut from a token file: example i is the {@code seqLen + 1} tokens starting at
 * {@code i * stride}; inputs are the first T = seqLen of them and targets the last T (shifted by one).
 * Batches are INT64 [B, T].
 */
public final class TokenWindows implements Dataset {
    private final TokenFile tokens;
    private final int seqLen;
    private final int stride;
    private final int size;

    /** Windows of {@code seqLen} over {@code tokens} every {@code stride} tokens (stride = seqLen: no overlap). */
    public TokenWindows(TokenFile tokens, int seqLen, int stride) {
        if (seqLen < 1 || stride < 1) {
            throw new IllegalArgumentException("seqLen and stride must be >= 1, got " + seqLen + " and " + stride);
        }
        if (tokens.size() < seqLen + 1L) {
            throw new IllegalArgumentException(tokens.file() + " has " + tokens.size() + " tokens, fewer than seqLen + 1 = "
                + (seqLen + 1) + " needed for one window");
        }
        long n = (tokens.size() - seqLen - 1) / stride + 1;
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(n + " windows do not fit an int index; use a larger stride");
        }
        this.tokens = tokens;
        this.seqLen = seqLen;
        this.stride = stride;
        this.size = (int) n;
    }

    @Override
    public int size() {
        return size;
    }

    /** Tokens of window i: inputs [i*stride, i*stride + T), targets one position later. */
    @Override
    public Batch batch(int[] indices) {
        int[][] x = new int[indices.length][];
        int[][] y = new int[indices.length][];
        int[] buf = new int[seqLen + 1];
        for (int r = 0; r < indices.length; r++) {
            int i = indices[r];
            if (i < 0 || i >= size) {
                throw new IndexOutOfBoundsException("window " + i + " of " + size);
            }
            tokens.read((long) i * stride, buf);
            x[r] = Arrays.copyOfRange(buf, 0, seqLen);
            y[r] = Arrays.copyOfRange(buf, 1, seqLen + 1);
        }
        return Batch.ofRows(x, y, 0);
    }

    /** Tokens per input row. */
    public int seqLen() {
        return seqLen;
    }
}
