// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import spindle.trainers.TensorFlowEvents.Event;
import spindle.trainers.TensorFlowEvents.Value;

/**
 * Our event files read back with TensorFlow's own generated protobuf classes (org.tensorflow:proto, via
 * {@link TensorFlowEvents}) and
 * with CRCs recomputed by a bit-by-bit CRC32C written here, independent of java.util.zip.
 */
class EventFileWriterTest {

    /** Every record of a TFRecord file, after checking both masked CRCs with {@link #crc32c}. */
    static List<Event> readAll(Path file) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> events = new ArrayList<>();
        while (b.hasRemaining()) {
            byte[] len = new byte[8];
            b.get(len);
            long length = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(mask(crc32c(len)), b.getInt(), "length CRC of record " + events.size());
            byte[] data = new byte[(int) length];
            b.get(data);
            assertEquals(mask(crc32c(data)), b.getInt(), "data CRC of record " + events.size());
            events.add(TensorFlowEvents.parse(data));
        }
        return events;
    }

    /** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, one bit at a time. */
    static int crc32c(byte[] data) {
        int crc = 0xFFFFFFFF;
        for (byte v : data) {
            crc ^= v & 0xFF;
            for (int k = 0; k < 8; k++) {
                crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
            }
        }
        return ~crc;
    }

    /** TFRecord's mask: ((crc >> 15) | (crc << 17)) + 0xa282ead8 on 32 bits. */
    static int mask(int crc) {
        return Integer.rotateRight(crc, 15) + 0xa282ead8;
    }

    @Test
    void referenceCrcMatchesTheStandardCheckValue() {
        // The check value of CRC-32C over "123456789" is 0xE3069283 (RFC 3720, appendix B.4).
        assertEquals(0xE3069283, crc32c("123456789".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void tensorFlowParsesEveryRecordWithValidCrcs(@TempDir Path dir) throws Exception {
        Path file;
        try (EventFileWriter w = new EventFileWriter(dir)) {
            w.addScalar("train/loss", 2.5, 1);
            w.addScalar("train/lr", 3e-4, 1);
            w.addScalar("train/loss", 1.25, 300);
            w.addScalar("eval/loss", -0.0625, 1L << 40);   // a step needing a multi-byte varint
            file = w.file();
        }
        assertTrue(file.getFileName().toString().startsWith("events.out.tfevents."), file.toString());
        List<Event> events = readAll(file);
        assertEquals(5, events.size());
        assertEquals("brain.Event:2", events.get(0).fileVersion());
        assertFalse(events.get(0).hasSummary());
        assertEquals(0, events.get(0).step());
        long now = System.currentTimeMillis() / 1000;
        assertTrue(Math.abs(events.get(0).wallTime() - now) < 600, "wall time " + events.get(0).wallTime());
        String[] tags = {"train/loss", "train/lr", "train/loss", "eval/loss"};
        float[] values = {2.5f, 3e-4f, 1.25f, -0.0625f};
        long[] steps = {1, 1, 300, 1L << 40};
        for (int i = 0; i < 4; i++) {
            Event e = events.get(i + 1);
            assertEquals(steps[i], e.step(), "step of event " + (i + 1));
            assertEquals("", e.fileVersion());
            assertEquals(1, e.values().size());
            Value v = e.values().get(0);
            assertEquals(tags[i], v.tag());
            assertEquals("SIMPLE_VALUE", v.valueCase());
            assertEquals(values[i], v.simpleValue());
        }
    }

    @Test
    void maskedCrcOfTheWriterAgreesWithTheReference() {
        byte[] data = "brain.Event:2 and some bytes \u0000\u00ff".getBytes(StandardCharsets.ISO_8859_1);
        for (int n = 0; n <= data.length; n += 7) {
            byte[] part = Arrays.copyOf(data, n);
            assertEquals(mask(crc32c(part)), EventFileWriter.maskedCrc32c(part, 0, n), "prefix of " + n + " bytes");
        }
    }

    @Test
    void loggerWritesTrainAndEvalTags(@TempDir Path dir) throws Exception {
        TensorBoardLogger logger = new TensorBoardLogger(dir);
        logger.start(0, 2);
        logger.logStep(new StepMetrics(1, 3.0, java.util.Map.of(StepLoss.BALANCE_LOSS, 0.5), 1e-3, 0.7, 64, 0.5,
            1L << 30));
        logger.logEval(1, 2.75);
        logger.close();
        List<Event> events = readAll(logger.file());
        List<String> tags = events.stream().skip(1).map(e -> e.values().get(0).tag()).toList();
        assertEquals(List.of("train/loss", "train/balance_loss", "train/lr", "train/grad_norm",
            "train/tokens_per_second", "train/peak_rss_gib", "eval/loss"), tags);
        assertEquals(128f, events.get(5).values().get(0).simpleValue());   // 64 tokens in 0.5 s
        assertEquals(1f, events.get(6).values().get(0).simpleValue());     // 2^30 bytes
        assertEquals(2.75f, events.get(7).values().get(0).simpleValue());
    }
}
