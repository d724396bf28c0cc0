// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.PyTorch;

/** Round trips, files written by PyTorch in every readable dtype, and malformed headers. */
class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripKeepsNamesOrderDtypesShapesAndValues() throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>();
        t.put("w", Nd4j.linspace(DataType.FLOAT, 1, 12, 12).reshape(3, 4));
        t.put("view", Nd4j.linspace(DataType.DOUBLE, 1, 20, 20).reshape(4, 5).get(NDArrayIndex.interval(1, 3), NDArrayIndex.all()));
        t.put("ids", Nd4j.createFromArray(new long[] {5, -1, 7}));
        t.put("count", Nd4j.createFromArray(new int[] {3, 4}));
        t.put("scalar", Nd4j.scalar(DataType.DOUBLE, 1.25));
        t.put("empty", Nd4j.create(DataType.FLOAT, 0, 3));
        Path file = dir.resolve("m.safetensors");
        Safetensors.write(file, t, Map.of("format", "pt"));
        Map<String, INDArray> back = Safetensors.read(file);
        assertEquals(List.copyOf(t.keySet()), List.copyOf(back.keySet()));
        t.forEach((k, v) -> {
            assertEquals(v.dataType(), back.get(k).dataType(), k);
            assertArrayEquals(v.shape(), back.get(k).shape(), k);
            assertEquals(v, back.get(k), k);
        });
        assertEquals(Map.of("format", "pt"), Safetensors.metadata(file));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void readsWhatPyTorchWritesInEveryDtype() throws IOException {
        PyTorch.missing().ifPresent(why -> {
            if (PyTorch.required()) {
                fail("SPINDLE_REQUIRE_TORCH=1 but " + why);
            }
            assumeTrue(false, "PyTorch check skipped: " + why);
        });
        Path file = dir.resolve("torch.safetensors");
        Path values = dir.resolve("values.json");
        PyTorch.run(Path.of("src/test/python/write_safetensors.py"), 120, file.toString(), values.toString());
        Map<String, INDArray> read = Safetensors.read(file);
        JsonNode expected = new ObjectMapper().readTree(values.toFile());
        assertEquals(DataType.DOUBLE, read.get("f64").dataType());
        assertEquals(DataType.FLOAT, read.get("bf16").dataType());
        assertEquals(DataType.FLOAT, read.get("f16").dataType());
        assertEquals(DataType.LONG, read.get("i64").dataType());
        assertArrayEquals(new long[0], read.get("scalar").shape());
        expected.fields().forEachRemaining(e -> {
            double[] got = read.get(e.getKey()).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
            assertEquals(e.getValue().size(), got.length, e.getKey());
            for (int i = 0; i < got.length; i++) {
                assertEquals(e.getValue().get(i).asDouble(), got[i], 0.0, e.getKey() + "[" + i + "]");
            }
        });
    }

    @Test
    void halfPrecisionEdgeCases() {
        assertEquals(1.0f, SafetensorsCodec.halfToFloat((short) 0x3c00));
        assertEquals(-2.0f, SafetensorsCodec.halfToFloat((short) 0xc000));
        assertEquals(65504f, SafetensorsCodec.halfToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, SafetensorsCodec.halfToFloat((short) 0x0001));
        assertEquals(Float.NEGATIVE_INFINITY, SafetensorsCodec.halfToFloat((short) 0xfc00));
        assertTrue(Float.isNaN(SafetensorsCodec.halfToFloat((short) 0x7e00)));
    }

    @Test
    void malformedFilesAreNamedWithTheProblem() throws IOException {
        assertBad(new byte[] {1, 2, 3}, "shorter than the 8-byte header length");
        assertBad(file(1000, "{}"), "declares a header of 1000 bytes");
        assertBad(file(-1, "not json"), "not valid JSON");
        assertBad(file(-1, "[1, 2]"), "not a JSON object");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F8\", \"shape\": [1], \"data_offsets\": [0, 1]}}"), "dtype F8");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8),
            "(12 bytes) but data_offsets span 8 bytes");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8),
            "outside the 8 data bytes");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
            + " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8), "overlapping");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\"}}"), "without a dtype string");
        assertBad(file(-1, "{\"__metadata__\": {\"n\": 3}}"), "not a string");
    }

    @Test
    void writingRefusesUnsupportedDtypes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Safetensors.write(dir.resolve("x.safetensors"),
            Map.of("flag", Nd4j.createFromArray(true, false)), Map.of()));
        assertTrue(e.getMessage().contains("flag") && e.getMessage().contains("BOOL"), e.getMessage());
    }

    private void assertBad(byte[] content, String expected) throws IOException {
        Path file = Files.write(dir.resolve("bad.safetensors"), content);
        var e = assertThrows(IllegalArgumentException.class, () -> Safetensors.read(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(expected), e.getMessage());
    }

    /** A file whose header is {@code json}, declaring {@code declared} bytes (-1: the real length), then data bytes. */
    private static byte[] file(long declared, String json, int... dataBytes) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        int data = dataBytes.length == 0 ? 0 : dataBytes[0];
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declared < 0 ? h.length : declared).put(h);
        return b.array();
    }
}
