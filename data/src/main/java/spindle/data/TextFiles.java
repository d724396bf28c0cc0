// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Strict UTF-8 reading of text inputs: a byte sequence that is not UTF-8 (a Latin-1 or UTF-16 file,
 * say) is an error naming the file, line and byte (and the byte's offset in the file, as hexdump shows it),
 * never silently replaced by U+FFFD.
 */
public final class TextFiles {
    private TextFiles() {
    }

    /** The whole file as a string; a leading UTF-8 byte-order mark is dropped. */
    public static String read(Path file) throws IOException {
        return decode(file.toString(), Files.readAllBytes(file));
    }

    /** A classpath resource (e.g. {@code spindle/data/moby-dick.txt}) read the same way as a file. */
    public static String resource(String name) throws IOException {
        try (InputStream in = TextFiles.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new DataFileException(name, 0, "no such resource on the classpath");
            }
            return decode(name, in.readAllBytes());
        }
    }

    /** Lines split on {@code \n}, with a trailing {@code \r} removed; a final empty line is not returned. */
    public static List<String> lines(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            int stop = end < 0 ? text.length() : end;
            int cut = stop > start && text.charAt(stop - 1) == '\r' ? stop - 1 : stop;
            out.add(text.substring(start, cut));
            start = end < 0 ? text.length() : end + 1;
        }
        return out;
    }

    /** 1-based line number of the char at {@code offset} in {@code text}. */
    static long lineOf(String text, int offset) {
        long line = 1;
        for (int i = 0; i < Math.min(offset, text.length()); i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    /** Decodes {@code bytes} as UTF-8, reporting the first invalid byte by line and byte column. */
    static String decode(String source, byte[] bytes) throws DataFileException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            throw badByte(source, bytes, in.position());
        }
        out.flip();
        String text = out.toString();
        int nul = text.indexOf('\0');
        if (nul >= 0) {   // valid UTF-8, but text never holds NUL: a binary or UTF-16 file
            throw badByte(source, bytes, utf8Offset(text, nul));
        }
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    private static int utf8Offset(String text, int charIndex) {
        return text.substring(0, charIndex).getBytes(StandardCharsets.UTF_8).length;
    }

    private static DataFileException badByte(String source, byte[] bytes, int at) {
        long line = 1;
        int lineStart = 0;
        for (int i = 0; i < at; i++) {
            if (bytes[i] == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        String hint = looksLikeUtf16(bytes) ? "; the file looks like UTF-16, save it as UTF-8"
            : "; save the file as UTF-8 (it may be Latin-1 or Windows-1252)";
        return new DataFileException(source, line, String.format(
            "not valid UTF-8: byte 0x%02X at byte %d of the line (file offset %d)%s",
            bytes[at] & 0xff, at - lineStart + 1, at, hint));
    }

    private static boolean looksLikeUtf16(byte[] b) {
        // A UTF-16 byte-order mark, or a zero byte among the first two (ASCII text in UTF-16).
        return b.length >= 2 && ((b[0] & 0xff) >= 0xFE && (b[1] & 0xff) >= 0xFE || b[0] == 0 || b[1] == 0);
    }
}
