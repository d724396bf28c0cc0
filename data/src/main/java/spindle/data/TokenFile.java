// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A memory-mapped file of token ids: raw little-endian {@link TokenDtype} values with no header, the
 * layout of nanoGPT's {@code train.bin} (uint16) and of its int32 variant. Reads go to the page cache,
 * so a corpus larger than the heap trains fine. Views ({@link #slice}) share the mapping.
 */
public final class TokenFile {
    // Segments of 2^30 bytes: a MappedByteBuffer is int-indexed, and 2 and 4 divide 2^30, so no token straddles two.
    private static final int SEGMENT_SHIFT = 30;
    private static final long SEGMENT_MASK = (1L << SEGMENT_SHIFT) - 1;

    private final Path file;
    private final TokenDtype dtype;
    private final ByteBuffer[] segments;
    private final long start;
    private final long size;

    private TokenFile(Path file, TokenDtype dtype, ByteBuffer[] segments, long start, long size) {
        this.file = file;
        this.dtype = dtype;
        this.segments = segments;
        this.start = start;
        this.size = size;
    }

    /** Writes {@code tokens} to {@code file}; an id that does not fit {@code dtype} is an error naming its index. */
    public static void write(Path file, int[] tokens, TokenDtype dtype) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < tokens.length; i++) {
                int id = tokens[i];
                if (id < 0 || id > dtype.maxId()) {
                    throw new IllegalArgumentException("token " + id + " at index " + i + " does not fit " + dtype
                        + (dtype == TokenDtype.UINT16 ? " (ids above 65,535 need INT32)" : ""));
                }
                if (buf.remaining() < dtype.bytes()) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                if (dtype == TokenDtype.UINT16) {
                    buf.putShort((short) id);
                } else {
                    buf.putInt(id);
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }

    /** Maps {@code file} read-only; an empty file or a length that is not a whole number of tokens is an error. */
    public static TokenFile open(Path file, TokenDtype dtype) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long bytes = ch.size();
            if (bytes == 0) {
                throw new DataFileException(file, 0, "has no tokens (the file is empty)");
            }
            if (bytes % dtype.bytes() != 0) {
                throw new DataFileException(file, 0, "is " + bytes + " bytes, not a whole number of " + dtype
                    + " tokens (" + dtype.bytes() + " bytes each); was it written with another dtype?");
            }
            int n = (int) ((bytes + SEGMENT_MASK) >>> SEGMENT_SHIFT);
            ByteBuffer[] segments = new ByteBuffer[n];
            for (int s = 0; s < n; s++) {
                long from = (long) s << SEGMENT_SHIFT;
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, from, Math.min(1L << SEGMENT_SHIFT, bytes - from));
                segments[s] = m.order(ByteOrder.LITTLE_ENDIAN);
            }
            return new TokenFile(file, dtype, segments, 0, bytes / dtype.bytes());
        }
    }

    /** Number of tokens in this file or view. */
    public long size() {
        return size;
    }

    /** Token {@code i} of this view. */
    public int get(long i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("token " + i + " of " + size + " in " + file);
        }
        long at = (start + i) * dtype.bytes();
        ByteBuffer seg = segments[(int) (at >>> SEGMENT_SHIFT)];
        int pos = (int) (at & SEGMENT_MASK);
        return dtype == TokenDtype.UINT16 ? Short.toUnsignedInt(seg.getShort(pos)) : seg.getInt(pos);
    }

    /** Copies tokens [from, from + dst.length) into {@code dst}. */
    public void read(long from, int[] dst) {
        if (from < 0 || from + dst.length > size) {
            throw new IndexOutOfBoundsException("tokens [" + from + ", " + (from + dst.length) + ") of " + size + " in " + file);
        }
        for (int k = 0; k < dst.length; k++) {
            dst[k] = get(from + k);
        }
    }

    /** A view of tokens [from, to) sharing this mapping. */
    public TokenFile slice(long from, long to) {
        if (from < 0 || to > size || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of " + size + " tokens in " + file);
        }
        return new TokenFile(file, dtype, segments, start + from, to - from);
    }

    /** Fixed-length language-model windows of {@code seqLen} tokens, one after another (stride seqLen). */
    public TokenWindows windows(int seqLen) {
        return new TokenWindows(this, seqLen, seqLen);
    }

    /** The mapped file. */
    public Path file() {
        return file;
    }

    /** The element type. */
    public TokenDtype dtype() {
        return dtype;
    }
}
