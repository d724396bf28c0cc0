// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The safetensors format, by hand (no maintained Java artifact exists): an 8-byte little-endian header length,
 * a JSON header mapping each name to its dtype, shape and byte range, then raw little-endian data. Reads F32,
 * F64, BF16 and F16 (both widened to float32), I64, I32, U8, I8 (int8 quantized codes) and BOOL; writes all of them (BF16 and F16 from
 * ND4J's BFLOAT16 and HALF arrays), atomically. A malformed file is an IllegalArgumentException naming the file
 * and the tensor.
 */
public final class Safetensors {
    // a repeated key would otherwise silently keep the last entry
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final long MAX_HEADER = 100L << 20;
    private static final String METADATA = "__metadata__";
    private static final AtomicLong TEMP_COUNTER = new AtomicLong();

    private Safetensors() {}

    /** Every tensor of {@code file}, in the order of their data; BF16 and F16 widened to float32. */
    public static Map<String, INDArray> read(Path file) throws IOException {
        return read(file, true);
    }

    /**
     * Every tensor of {@code file} in the dtype it is stored in: BF16 and F16 become BFLOAT16 and HALF arrays, half
     * the memory of float32 (a bf16 base loads into a bf16 LoRA base without a float32 copy of the file).
     */
    public static Map<String, INDArray> readStored(Path file) throws IOException {
        return read(file, false);
    }

    private static Map<String, INDArray> read(Path file, boolean widen) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = Header.parse(file, ch);
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (Entry e : header.entries) {
                if (e.end - e.begin > Integer.MAX_VALUE - 8) {   // a Java array holds at most 2^31 - 1 elements
                    throw bad(file, "has tensor " + e.name + " of " + (e.end - e.begin) + " bytes, more than one"
                        + " array can hold");
                }
                ByteBuffer bytes = ch.map(FileChannel.MapMode.READ_ONLY, header.dataStart + e.begin, e.end - e.begin)
                    .order(ByteOrder.LITTLE_ENDIAN);
                out.put(e.name, widen || SafetensorsCodec.width(e.dtype) != 2 ? SafetensorsCodec.decode(e.dtype, e.shape, bytes)
                    : SafetensorsCodec.decodeNarrow(e.dtype, e.shape, bytes));
            }
            return out;
        }
    }

    /** One tensor as the header describes it: name, safetensors dtype ("BF16"), shape and size in bytes. */
    public record TensorInfo(String name, String dtype, long[] shape, long bytes) {
        /** Elements: the product of the shape. */
        public long elements() {
            return bytes / SafetensorsCodec.width(dtype);
        }
    }

    /** The tensors of {@code file} as its header lists them, in the order of their data; no data is read. */
    public static List<TensorInfo> tensors(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return Header.parse(file, ch).entries.stream()
                .map(e -> new TensorInfo(e.name, e.dtype, e.shape.clone(), e.end - e.begin)).toList();
        }
    }

    /** The header's {@code __metadata__} map (empty when absent). */
    public static Map<String, String> metadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return Header.parse(file, ch).metadata;
        }
    }

    /**
     * Writes {@code tensors} (in map order) and {@code metadata} (may be null) to {@code file} through a temporary
     * file in the same directory that is forced to disk and then renamed over {@code file}: the final name holds
     * either the previous file or the complete new one, never a partial file. Views and non-C-order arrays are
     * written in C order; FLOAT, DOUBLE, HALF, BFLOAT16, LONG, INT, UBYTE, BYTE and BOOL arrays are accepted.
     */
    public static void write(Path file, Map<String, INDArray> tensors, Map<String, String> metadata) throws IOException {
        ByteBuffer head = header(tensors, metadata);
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = newTempFile(dir, file.getFileName().toString());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                // one tensor's bytes at a time: a checkpoint never needs a second full copy in memory
                for (Map.Entry<String, INDArray> t : tensors.entrySet()) {
                    writeFully(ch, SafetensorsCodec.encode(t.getKey(), t.getValue()));
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * A new empty file {@code .NAME.PID-N.tmp} in {@code dir}. Files.createFile, unlike Files.createTempFile
     * (always owner-only), gives it the umask's permissions, so the renamed file gets those of every other file.
     */
    private static Path newTempFile(Path dir, String name) throws IOException {
        String prefix = "." + name + "." + ProcessHandle.current().pid() + "-";
        while (true) {
            try {
                return Files.createFile(dir.resolve(prefix + TEMP_COUNTER.incrementAndGet() + ".tmp"));
            } catch (FileAlreadyExistsException e) {
                // left by an earlier process that had our PID: take the next number
            }
        }
    }

    /** The length prefix and the JSON header, padded with spaces so that the data starts 8-byte aligned. */
    private static ByteBuffer header(Map<String, INDArray> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            metadata.forEach((k, v) -> {
                if (k == null || v == null) {
                    throw new IllegalArgumentException("safetensors: metadata entry " + k + "=" + v + " has a null");
                }
            });
            header.put(METADATA, metadata);
        }
        long offset = 0;
        for (Map.Entry<String, INDArray> t : tensors.entrySet()) {
            String key = t.getKey();
            if (key == null || key.equals(METADATA) || t.getValue() == null) {
                throw new IllegalArgumentException("safetensors: cannot write tensor '" + key + "'"
                    + (t.getValue() == null ? " with a null array" : ": the name is reserved"));
            }
            String dtype = SafetensorsCodec.dtypeName(key, t.getValue().dataType());
            long bytes = t.getValue().length() * SafetensorsCodec.width(dtype);
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", dtype);
            info.put("shape", t.getValue().shape());
            info.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(key, info);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        return head.flip();
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) {
                throw new IOException("unexpected end of file at byte " + (position + b.position()));
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** One tensor's header entry, with offsets relative to the start of the data. */
    private record Entry(String name, String dtype, long[] shape, long begin, long end) {}

    /** The parsed and validated header. */
    private record Header(long dataStart, List<Entry> entries, Map<String, String> metadata) {
        static Header parse(Path file, FileChannel ch) throws IOException {
            long size = ch.size();
            if (size < 8) {
                throw bad(file, "is " + size + " bytes long, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.flip().getLong();
            if (n < 2 || n > MAX_HEADER || 8 + n > size) {
                throw bad(file, "declares a header of " + n + " bytes but the file has " + size + " bytes");
            }
            ByteBuffer h = ByteBuffer.allocate((int) n);
            readFully(ch, h, 8);
            JsonNode root;
            try {
                root = JSON.readTree(new String(h.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw bad(file, "has a header that is not valid JSON: " + e.getMessage());
            }
            if (root == null || !root.isObject()) {
                throw bad(file, "has a header that is not a JSON object");
            }
            long dataLength = size - 8 - n;
            Map<String, String> metadata = new LinkedHashMap<>();
            List<Entry> entries = new ArrayList<>();
            Iterator<Map.Entry<String, JsonNode>> fields = root.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                if (f.getKey().equals(METADATA)) {
                    if (!f.getValue().isObject()) {
                        throw bad(file, "has a __metadata__ entry that is not a map of strings: " + f.getValue());
                    }
                    f.getValue().fields().forEachRemaining(m -> {
                        if (!m.getValue().isTextual()) {
                            throw bad(file, "has __metadata__ value " + m.getKey() + " that is not a string: "
                                + m.getValue());
                        }
                        metadata.put(m.getKey(), m.getValue().textValue());
                    });
                    continue;
                }
                entries.add(entry(file, f.getKey(), f.getValue(), dataLength));
            }
            entries.sort(Comparator.comparingLong(Entry::begin));
            long previousEnd = 0;
            for (Entry e : entries) {
                if (e.begin < previousEnd) {
                    throw bad(file, "has tensor " + e.name + " overlapping the previous tensor's bytes");
                }
                previousEnd = e.end;
            }
            return new Header(8 + n, entries, metadata);
        }

        private static Entry entry(Path file, String name, JsonNode info, long dataLength) {
            JsonNode dtype = info.get("dtype");
            JsonNode shape = info.get("shape");
            JsonNode offsets = info.get("data_offsets");
            if (!info.isObject() || dtype == null || !dtype.isTextual() || shape == null || !shape.isArray()
                || offsets == null || !offsets.isArray() || offsets.size() != 2) {
                throw bad(file, "has tensor " + name + " without a dtype string, a shape list and two data_offsets: "
                    + info);
            }
            int width = SafetensorsCodec.width(dtype.textValue());
            if (width == 0) {
                throw bad(file, "has tensor " + name + " of dtype " + dtype.textValue()
                    + "; readable dtypes are F32, F64, BF16, F16, I64, I32, U8, BOOL");
            }
            long[] dims = new long[shape.size()];
            long bytes = width;
            for (int i = 0; i < dims.length; i++) {
                dims[i] = natural(shape.get(i));
                if (dims[i] < 0) {
                    throw bad(file, "has tensor " + name + " with a negative or non-integer dimension in " + shape);
                }
                bytes = dims[i] == 0 ? 0 : bytes < 0 ? -1 : multiplyOrMinusOne(bytes, dims[i]);
            }
            long begin = natural(offsets.get(0));
            long end = natural(offsets.get(1));
            if (begin < 0 || end < begin || end > dataLength) {
                throw bad(file, "has tensor " + name + " with data_offsets " + offsets + " outside the "
                    + dataLength + " data bytes");
            }
            if (bytes < 0 || end - begin != bytes) {
                throw bad(file, "has tensor " + name + " of shape " + shape + " and dtype " + dtype.textValue()
                    + " (" + (bytes < 0 ? "too many" : bytes) + " bytes) but data_offsets span " + (end - begin)
                    + " bytes");
            }
            return new Entry(name, dtype.textValue(), dims, begin, end);
        }

        /** A non-negative JSON integer, or -1 for anything else (2.5, "3", -4, or beyond a long). */
        private static long natural(JsonNode n) {
            return n.isIntegralNumber() && n.canConvertToLong() && n.longValue() >= 0 ? n.longValue() : -1;
        }

        private static long multiplyOrMinusOne(long a, long b) {
            try {
                return Math.multiplyExact(a, b);
            } catch (ArithmeticException overflow) {
                return -1;
            }
        }
    }

    private static IllegalArgumentException bad(Path file, String what) {
        return new IllegalArgumentException("safetensors file " + file + " " + what);
    }
}
