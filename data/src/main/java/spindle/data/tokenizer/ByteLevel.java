// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's reversible byte-to-character map, used to write byte strings into {@code encoder.json} and
 * {@code vocab.bpe}: printable bytes 33-126, 161-172 and 174-255 stand for themselves; the other 68 bytes
 * map, in increasing order, to U+0100, U+0101, ... (so a space, byte 32, is written as U+0120 'Ġ').
 */
final class ByteLevel {
    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHAR = new int[512];

    static {
        Arrays.fill(BYTE_OF_CHAR, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            char c = (char) (printable ? b : next++);
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteLevel() {
    }

    /** The byte-level string of raw bytes. */
    static String toChars(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = CHAR_OF_BYTE[bytes[i] & 0xff];
        }
        return new String(out);
    }

    /** The raw bytes of a byte-level string, or null when a char is not one of the 256. */
    static byte[] toBytes(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int b = c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
            if (b < 0) {
                return null;
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
