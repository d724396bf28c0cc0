// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.testing.PyTorch;

/** Round trips, files written by PyTorch in every readable dtype, and malformed headers. */
class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripKeepsNamesOrderDtypesShapesAndValues() throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>();
        t.put("w", Nd4j.linspace(DataType.FLOAT, 1, 12, 12).reshape(3, 4));
        t.put("view", Nd4j.linspace(DataType.DOUBLE, 1, 20, 20).reshape(4, 5).get(NDArrayIndex.interval(1, 3), NDArrayIndex.all()));
        t.put("transposed", Nd4j.linspace(DataType.FLOAT, 1, 6, 6).reshape(2, 3).transpose());
        t.put("ids", Nd4j.createFromArray(new long[] {5, -1, 7, Long.MAX_VALUE, Long.MIN_VALUE}));
        t.put("count", Nd4j.createFromArray(new int[] {3, 4, Integer.MIN_VALUE}));
        t.put("bytes", Nd4j.createFromArray(new int[] {0, 1, 200, 255}).castTo(DataType.UBYTE));
        t.put("codes", Nd4j.createFromArray(new byte[] {-128, -8, 0, 7, 127}));
        t.put("mask", Nd4j.createFromArray(true, false, true).reshape(3, 1));
        t.put("scalar", Nd4j.scalar(DataType.DOUBLE, 1.25));
        t.put("empty", Nd4j.create(DataType.FLOAT, 0, 3));
        t.put("extreme", Nd4j.createFromArray(Double.MIN_VALUE, -0.0, Double.POSITIVE_INFINITY, Double.MAX_VALUE));
        Path file = dir.resolve("m.safetensors");
        Safetensors.write(file, t, Map.of("format", "pt"));
        Map<String, INDArray> back = Safetensors.read(file);
        assertEquals(List.copyOf(t.keySet()), List.copyOf(back.keySet()));
        t.forEach((k, v) -> {
            assertEquals(v.dataType(), back.get(k).dataType(), k);
            assertArrayEquals(v.shape(), back.get(k).shape(), k);
            assertArrayEquals(exact(v), exact(back.get(k)), k);
        });
        assertEquals(Map.of("format", "pt"), Safetensors.metadata(file));
        assertEquals(List.of(file), filesIn(dir), "no temporary file is left behind");
    }

    @Test
    void writtenFilesGetTheUmasksPermissionsLikeAnyOtherFile() throws IOException {
        assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX permissions only");
        Path file = dir.resolve("perm.safetensors");
        Safetensors.write(file, Map.of("w", Nd4j.scalar(1f)), null);
        Path plain = Files.createFile(dir.resolve("plain"));
        assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)),
            PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }

    @Test
    void sixteenBitFloatsAreWrittenAndReadBackAsFloat32() throws IOException {
        // every value is exact in both formats: normal, subnormal, signed zero, infinity, largest finite
        float[] half = {1f, -2.5f, 65504f, 0x1p-24f, -0x1p-14f, -0.0f, Float.NEGATIVE_INFINITY, 1000.5f};
        float[] brain = {1f, -2.5f, 0x1p-130f, 3.3895314e38f, -0.0f, Float.POSITIVE_INFINITY, 0.15625f};
        Map<String, INDArray> t = new LinkedHashMap<>();
        t.put("h", Nd4j.createFromArray(half).castTo(DataType.HALF));
        t.put("b", Nd4j.createFromArray(brain).castTo(DataType.BFLOAT16).reshape(7, 1));
        t.put("nan", Nd4j.createFromArray(Float.NaN).castTo(DataType.HALF));
        Path file = dir.resolve("half.safetensors");
        Safetensors.write(file, t, null);
        Map<String, INDArray> back = Safetensors.read(file);
        assertEquals(DataType.FLOAT, back.get("h").dataType());
        assertEquals(DataType.FLOAT, back.get("b").dataType());
        assertArrayEquals(half, back.get("h").toFloatVector());
        assertArrayEquals(brain, back.get("b").reshape(-1).toFloatVector());
        assertArrayEquals(new long[] {7, 1}, back.get("b").shape());
        assertTrue(Float.isNaN(back.get("nan").getFloat(0)));
        assertEquals(Map.of(), Safetensors.metadata(file));
    }

    @Test
    void readsWhatPyTorchWritesInEveryDtype() throws IOException {
        Optional<String> why = PyTorch.unavailable(null);
        assumeTrue(why.isEmpty(), () -> "PyTorch check skipped: " + why.orElseThrow());
        Path file = dir.resolve("torch.safetensors");
        Path values = dir.resolve("values.json");
        PyTorch.run(Path.of("src/test/python/write_safetensors.py"), 120, file.toString(), values.toString());
        Map<String, INDArray> read = Safetensors.read(file);
        // Python's json writes infinities as -Infinity
        JsonNode expected = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build()
            .readTree(values.toFile());
        assertEquals(DataType.DOUBLE, read.get("f64").dataType());
        assertEquals(DataType.FLOAT, read.get("bf16").dataType());
        assertEquals(DataType.FLOAT, read.get("f16").dataType());
        assertEquals(DataType.LONG, read.get("i64").dataType());
        assertEquals(DataType.INT, read.get("i32").dataType());
        assertEquals(DataType.UBYTE, read.get("u8").dataType());
        assertEquals(DataType.BOOL, read.get("bool").dataType());
        assertArrayEquals(new long[] {2, 2}, read.get("u8").shape());
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
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F8\", \"shape\": [1], \"data_offsets\": [0, 1]}}"), "tensor a of dtype F8");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8),
            "tensor a of shape [3] and dtype F32 (12 bytes) but data_offsets span 8 bytes");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8),
            "tensor a with data_offsets [0,16] outside the 8 data bytes");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 8),
            "outside the 8 data bytes");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
            + " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8), "tensor b overlapping");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\"}}"), "tensor a without a dtype string");
        assertBad(file(-1, "{\"a\": 7}"), "tensor a without a dtype string");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8),
            "tensor a with a negative or non-integer dimension");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8),
            "non-integer dimension");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F64\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 8]}}", 8),
            "(too many bytes)");
        assertBad(file(-1, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
            + " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8), "Duplicate field 'a'");
        assertBad(file(-1, "{\"__metadata__\": {\"n\": 3}}"), "__metadata__ value n that is not a string");
        assertBad(file(-1, "{\"__metadata__\": \"pt\"}"), "__metadata__ entry that is not a map of strings");
        Path bad = Files.write(dir.resolve("meta.safetensors"), file(-1, "{\"__metadata__\": [1]}"));
        var e = assertThrows(IllegalArgumentException.class, () -> Safetensors.metadata(bad));
        assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
    }

    @Test
    void writingRefusesUnsupportedDtypesAndReservedNames() {
        var e = assertThrows(IllegalArgumentException.class, () -> Safetensors.write(dir.resolve("x.safetensors"),
            Map.of("small", Nd4j.createFromArray(new short[] {1, 2})), Map.of()));
        assertTrue(e.getMessage().contains("small") && e.getMessage().contains("SHORT"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Safetensors.write(dir.resolve("x.safetensors"),
            Map.of("__metadata__", Nd4j.scalar(1f)), Map.of()));
        assertTrue(e.getMessage().contains("__metadata__"), e.getMessage());
    }

    @Test
    void anExistingFileIsReplacedOnlyByACompleteWrite() throws IOException {
        Path file = dir.resolve("model.safetensors");
        Safetensors.write(file, Map.of("old", Nd4j.createFromArray(1f, 2f)), Map.of());
        byte[] before = Files.readAllBytes(file);

        // the header is written, then the data of the second tensor fails: the old file must survive intact
        Map<String, INDArray> failing = new FailsOnDataPass();
        failing.put("a", Nd4j.createFromArray(3f, 4f, 5f));
        failing.put("b", Nd4j.createFromArray(6f));
        assertThrows(IllegalStateException.class, () -> Safetensors.write(file, failing, Map.of()));
        assertArrayEquals(before, Files.readAllBytes(file), "a failed write leaves the previous file untouched");
        assertEquals(List.of(file), filesIn(dir), "a failed write leaves no temporary file");

        Safetensors.write(file, Map.of("new", Nd4j.createFromArray(7.0, 8.0)), Map.of("step", "2"));
        Map<String, INDArray> now = Safetensors.read(file);
        assertEquals(List.of("new"), List.copyOf(now.keySet()));
        assertArrayEquals(new double[] {7, 8}, now.get("new").toDoubleVector());
        assertEquals(List.of(file), filesIn(dir));
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

    /** A map whose second walk over its entries (the data pass of write) fails after the first tensor. */
    private static final class FailsOnDataPass extends LinkedHashMap<String, INDArray> {
        private int walks;

        @Override
        public Set<Map.Entry<String, INDArray>> entrySet() {
            Set<Map.Entry<String, INDArray>> real = super.entrySet();
            if (++walks == 1) {
                return real;
            }
            return new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<String, INDArray>> iterator() {
                    Iterator<Map.Entry<String, INDArray>> it = real.iterator();
                    return new Iterator<>() {
                        private int given;

                        @Override
                        public boolean hasNext() {
                            return it.hasNext();
                        }

                        @Override
                        public Map.Entry<String, INDArray> next() {
                            if (given++ == 1) {
                                throw new IllegalStateException("simulated failure after the first tensor's data");
                            }
                            return it.next();
                        }
                    };
                }

                @Override
                public int size() {
                    return real.size();
                }
            };
        }
    }

    /** Every value as a double, bit for bit where the dtype allows (NaN payloads aside). */
    private static double[] exact(INDArray a) {
        return a.isEmpty() ? new double[0] : a.castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
    }

    private static List<Path> filesIn(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }
}
