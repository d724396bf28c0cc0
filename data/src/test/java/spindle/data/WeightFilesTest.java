// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Sharded checkpoints: save_pretrained's split, the index, bf16 shards, and errors naming shard and tensor. */
class WeightFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    /** Four float32 tensors of 40, 40, 120 and 40 bytes. */
    private static Map<String, INDArray> tensors() {
        Map<String, INDArray> t = new LinkedHashMap<>();
        t.put("a", counting(1, 10));
        t.put("b", counting(11, 10));
        t.put("big", counting(21, 30).reshape(3, 10));
        t.put("c", counting(51, 10));
        return t;
    }

    private static INDArray counting(int from, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = from + i;
        }
        return Nd4j.createFromArray(v);
    }

    @Test
    void splitsAsSavePretrainedAndReadsBackEveryTensor() throws IOException {
        WeightFiles.write(dir, tensors(), Map.of("format", "pt"), 100);
        // a + b = 80 bytes; big (120) would pass 100 so starts a shard, alone as it exceeds the limit; then c
        ShardIndex index = ShardIndex.read(dir.resolve(ShardIndex.FILE));
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
            "model-00003-of-00003.safetensors"), index.shards());
        assertEquals(List.of("a", "b"), index.tensorsOf("model-00001-of-00003.safetensors"));
        assertEquals(List.of("big"), index.tensorsOf("model-00002-of-00003.safetensors"));
        assertEquals(240, index.totalSize());
        assertFalse(Files.exists(dir.resolve(WeightFiles.SINGLE)));
        Map<String, INDArray> back = WeightFiles.read(dir);
        tensors().forEach((k, v) -> assertEquals(v, back.get(k), k));
    }

    @Test
    void oneShardIsModelSafetensorsAndAnEarlierSavesFilesGo() throws IOException {
        WeightFiles.write(dir, tensors(), null, 100);
        WeightFiles.write(dir, tensors(), null, 200);   // a, b, big fill 200 bytes; c goes to the second shard
        assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", ShardIndex.FILE),
            names());
        WeightFiles.write(dir, tensors(), null, WeightFiles.DEFAULT_MAX_SHARD_BYTES);
        assertEquals(List.of(WeightFiles.SINGLE), names());
        assertEquals(tensors(), WeightFiles.read(dir));
    }

    @Test
    void bf16ShardsWidenExactlyToFloat32() throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>();
        short[] bits = {(short) 0x3f80, (short) 0xc0a1, (short) 0x0001, (short) 0x7f7f, (short) 0x8000, (short) 0x3eab};
        INDArray bf16 = Nd4j.createFromArray(new float[bits.length]).castTo(DataType.BFLOAT16);
        float[] want = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            want[i] = Float.intBitsToFloat((bits[i] & 0xffff) << 16);   // bf16 is the top half of a float32
            bf16.putScalar(i, want[i]);
        }
        t.put("w", bf16);
        t.put("v", counting(1, 4).castTo(DataType.BFLOAT16));
        WeightFiles.write(dir, t, null, 12);
        assertEquals(2, ShardIndex.read(dir.resolve(ShardIndex.FILE)).shards().size());
        INDArray back = WeightFiles.read(dir).get("w");
        assertEquals(DataType.FLOAT, back.dataType());
        assertArrayEquals(want, back.toFloatVector());
    }

    @Test
    void aMissingShardIsNamedWithATensorItHolds() throws IOException {
        WeightFiles.write(dir, tensors(), null, 100);
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        assertMessage(() -> WeightFiles.read(dir), "names shard model-00002-of-00003.safetensors (for tensor big)",
            "does not exist");
    }

    @Test
    void aTensorInTwoShardsIsNamedWithBoth() throws IOException {
        WeightFiles.write(dir, tensors(), null, 100);
        Map<String, INDArray> third = new LinkedHashMap<>();
        third.put("c", Nd4j.zeros(DataType.FLOAT, 10));
        third.put("a", Nd4j.zeros(DataType.FLOAT, 10));
        Safetensors.write(dir.resolve("model-00003-of-00003.safetensors"), third, null);
        assertMessage(() -> WeightFiles.read(dir), "tensor a in two shards, model-00001-of-00003.safetensors and"
            + " model-00003-of-00003.safetensors");
    }

    @Test
    void anIndexNamingATensorNoShardHasIsAnError() throws IOException {
        WeightFiles.write(dir, tensors(), null, 100);
        editIndex(map -> map.put("ghost", "model-00003-of-00003.safetensors"));
        assertMessage(() -> WeightFiles.read(dir), "maps tensor ghost to shard model-00003-of-00003.safetensors,"
            + " which does not hold it");
    }

    @Test
    void aShardTensorTheIndexDoesNotListOrPutsElsewhereIsAnError() throws IOException {
        WeightFiles.write(dir, tensors(), null, 100);
        editIndex(map -> map.remove("b"));
        assertMessage(() -> WeightFiles.read(dir), "does not list tensor b, which shard model-00001-of-00003.safetensors holds");
        editIndex(map -> map.put("b", "model-00003-of-00003.safetensors"));
        assertMessage(() -> WeightFiles.read(dir), "maps tensor b to model-00003-of-00003.safetensors but shard"
            + " model-00001-of-00003.safetensors holds it");
    }

    @Test
    void bothLayoutsOrNeitherAreRefusedNamingTheFiles() throws IOException {
        assertMessage(() -> WeightFiles.read(dir), "has neither model.safetensors nor model.safetensors.index.json");
        WeightFiles.write(dir, tensors(), null, 100);
        Safetensors.write(dir.resolve(WeightFiles.SINGLE), tensors(), null);
        assertMessage(() -> WeightFiles.read(dir), "has both model.safetensors and model.safetensors.index.json");
        Files.delete(dir.resolve(WeightFiles.SINGLE));
        editIndex(map -> map.put("a", "../elsewhere.safetensors"));
        assertMessage(() -> WeightFiles.read(dir), "maps tensor a to \"../elsewhere.safetensors\", not a file name");
    }

    private void editIndex(java.util.function.Consumer<ObjectNode> change) throws IOException {
        Path file = dir.resolve(ShardIndex.FILE);
        ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
        change.accept((ObjectNode) root.get("weight_map"));
        JSON.writeValue(file.toFile(), root);
    }

    private List<String> names() throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable run, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, run);
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
        }
    }
}
