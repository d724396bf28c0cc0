// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file of scalar summaries, written by hand (no maintained Java writer exists).
 * The file is a TFRecord stream: each record is a uint64 length, the masked CRC32C of those 8 bytes,
 * the data, and the masked CRC32C of the data, all little-endian. Each record's data is a serialized
 * tensorflow.Event: wall_time (field 1, double), step (2, int64), and either file_version (3, string,
 * "brain.Event:2" in the first record) or summary (5), a Summary whose repeated value (1) holds a tag
 * (1, string) and a simple_value (2, float).
 */
public final class EventFileWriter implements AutoCloseable {
    private static final int MASK_DELTA = 0xa282ead8;
    private final Path file;
    private final OutputStream out;

    /** Creates {@code logDir/events.out.tfevents.<unix seconds>.<host>} and writes the version record. */
    public EventFileWriter(Path logDir) throws IOException {
        Files.createDirectories(logDir);
        String base = "events.out.tfevents." + System.currentTimeMillis() / 1000 + "." + hostName();
        Path f = logDir.resolve(base);
        for (int n = 1; Files.exists(f); n++) {   // two writers in one second: TensorBoard reads any *tfevents*
            f = logDir.resolve(base + "." + n);
        }
        this.file = f;
        this.out = new BufferedOutputStream(Files.newOutputStream(f, StandardOpenOption.CREATE_NEW));
        ByteArrayOutputStream event = new ByteArrayOutputStream();
        header(event, 0);
        bytesField(event, 3, "brain.Event:2".getBytes(StandardCharsets.US_ASCII));
        writeRecord(event.toByteArray());
    }

    /** The file being written. */
    public Path file() {
        return file;
    }

    /** Appends one scalar summary {@code tag} = {@code value} at {@code step} (TensorBoard stores it as float). */
    public void addScalar(String tag, double value, long step) throws IOException {
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        bytesField(v, 1, tag.getBytes(StandardCharsets.UTF_8));
        v.write(tag(2, 5));   // wire type 5: fixed 32 bits
        v.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat((float) value).array());
        ByteArrayOutputStream summary = new ByteArrayOutputStream();
        bytesField(summary, 1, v.toByteArray());
        ByteArrayOutputStream event = new ByteArrayOutputStream();
        header(event, step);
        bytesField(event, 5, summary.toByteArray());
        writeRecord(event.toByteArray());
    }

    /** Pushes buffered records to the file, so that a running TensorBoard sees them. */
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /** Masked CRC32C as TFRecord uses it: rotate right by 15 bits, then add a constant (mod 2^32). */
    static int maskedCrc32c(byte[] data, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, offset, length);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + MASK_DELTA;
    }

    private void writeRecord(byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(data.length);
        b.putInt(maskedCrc32c(b.array(), 0, 8));
        b.put(data);
        b.putInt(maskedCrc32c(data, 0, data.length));
        out.write(b.array());
    }

    /** wall_time (field 1, double seconds) and step (field 2, varint). */
    private static void header(ByteArrayOutputStream e, long step) {
        e.write(tag(1, 1));   // wire type 1: fixed 64 bits
        double now = System.currentTimeMillis() / 1000.0;
        e.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(now).array());
        e.write(tag(2, 0));   // wire type 0: varint
        varint(e, step);
    }

    /** A length-delimited field (wire type 2): strings and nested messages. */
    private static void bytesField(ByteArrayOutputStream e, int field, byte[] bytes) {
        e.write(tag(field, 2));
        varint(e, bytes.length);
        e.writeBytes(bytes);
    }

    private static int tag(int field, int wireType) {
        return field << 3 | wireType;   // fields here are < 16, so the key is one byte
    }

    private static void varint(ByteArrayOutputStream e, long v) {
        while ((v & ~0x7FL) != 0) {
            e.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        e.write((int) v);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
