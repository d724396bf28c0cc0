// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Bad input in a data or tokenizer file: the message starts with the file (and the 1-based line when
 * one is known), as compilers do, e.g. {@code qa.jsonl:7: not valid JSON (...)}.
 */
public final class DataFileException extends IOException {
    private final String source;
    private final long line;

    /** An error at {@code line} (1-based; 0 when the problem is the file as a whole) of {@code source}. */
    public DataFileException(String source, long line, String message) {
        super(source + (line > 0 ? ":" + line : "") + ": " + message);
        this.source = source;
        this.line = line;
    }

    /** An error at {@code line} of {@code file}. */
    public DataFileException(Path file, long line, String message) {
        this(file.toString(), line, message);
    }

    /** The file (or classpath resource) name the error is in. */
    public String source() {
        return source;
    }

    /** 1-based line, or 0 when the error concerns the whole file. */
    public long line() {
        return line;
    }
}
