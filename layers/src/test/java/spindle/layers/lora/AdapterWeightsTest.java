// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.Safetensors;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.Module;

/** adapter_model.safetensors: PEFT's keys and shapes, an exact round trip, and errors naming key and shapes. */
class AdapterWeightsTest {
    @TempDir
    Path dir;

    /** model.layers.0.{q_proj (LoRA r), o_proj (DoRA r)}, optionally without o_proj's adapter. */
    static final class Tiny extends Module {
        Tiny(int r, boolean withDora, long seed) {
            Holder layer = child("model", new Holder()).add("layers", new Holder()).add("0", new Holder());
            layer.add("q_proj", lora(6, 4, LoraOptions.lora(r, 8), seed));
            Linear plainOut = new Linear(4, 6, false, DataType.DOUBLE, Init.normal(0, 1, new SplittableRandom(seed)));
            layer.add("o_proj", withDora ? lora(4, 6, new LoraOptions(r, 8, false, true), seed + 1) : plainOut);
        }
    }

    /** A module to hang children on. */
    static final class Holder extends Module {
        <M extends Module> M add(String name, M m) {
            return child(name, m);
        }
    }

    private static LoraLinear lora(int in, int out, LoraOptions options, long seed) {
        LoraLinear l = LoraLinearTest.layer(in, out, options, seed);
        LoraLinearTest.randomizeAdapter(l, seed + 100);
        return l;
    }

    @Test
    void writesPeftKeysShapesAndTheBaseDtype() throws IOException {
        Tiny model = new Tiny(3, true, 1);
        Path file = dir.resolve(AdapterWeights.FILE);
        AdapterWeights.save(model, file);
        Map<String, INDArray> stored = Safetensors.read(file);
        assertEquals(List.of("base_model.model.model.layers.0.q_proj.lora_A.weight",
            "base_model.model.model.layers.0.q_proj.lora_B.weight",
            "base_model.model.model.layers.0.o_proj.lora_A.weight",
            "base_model.model.model.layers.0.o_proj.lora_B.weight",
            "base_model.model.model.layers.0.o_proj.lora_magnitude_vector"), List.copyOf(stored.keySet()));
        assertArrayEquals(new long[] {3, 6}, stored.get("base_model.model.model.layers.0.q_proj.lora_A.weight").shape());
        assertArrayEquals(new long[] {4, 3}, stored.get("base_model.model.model.layers.0.q_proj.lora_B.weight").shape());
        assertArrayEquals(new long[] {6}, stored.get("base_model.model.model.layers.0.o_proj.lora_magnitude_vector").shape());
        stored.values().forEach(t -> assertEquals(DataType.DOUBLE, t.dataType()));
    }

    @Test
    void roundTripIsExact() {
        Tiny saved = new Tiny(3, true, 1);
        Tiny loaded = new Tiny(3, true, 7);
        Path file = dir.resolve(AdapterWeights.FILE);
        AdapterWeights.save(saved, file);
        Map<String, INDArray> want = values(saved);
        assertNotEquals(0.0, maxDifference(want, values(loaded)), "the two models start different");
        AdapterWeights.load(loaded, file);
        assertEquals(0.0, maxDifference(want, values(loaded)), "loaded == saved, bit for bit");
    }

    @Test
    void missingTensorIsNamedWithItsShapeAndNothingLoads() {
        Path file = dir.resolve(AdapterWeights.FILE);
        AdapterWeights.save(new Tiny(3, false, 1), file);
        Tiny target = new Tiny(3, true, 7);
        Map<String, INDArray> before = values(target);
        String msg = assertThrows(IllegalArgumentException.class, () -> AdapterWeights.load(target, file)).getMessage();
        assertTrue(msg.contains("'base_model.model.model.layers.0.o_proj.lora_A.weight' is missing (the model's is [3, 4])"), msg);
        assertTrue(msg.contains("'base_model.model.model.layers.0.o_proj.lora_magnitude_vector' is missing"), msg);
        assertEquals(0.0, maxDifference(before, values(target)), "nothing is loaded from a file that does not fit");
    }

    @Test
    void extraTensorIsNamed() {
        Path file = dir.resolve(AdapterWeights.FILE);
        AdapterWeights.save(new Tiny(3, true, 1), file);
        String msg = assertThrows(IllegalArgumentException.class,
            () -> AdapterWeights.load(new Tiny(3, false, 7), file)).getMessage();
        assertTrue(msg.contains("'base_model.model.model.layers.0.o_proj.lora_B.weight' [6, 3] is not an adapter of the model"), msg);
    }

    @Test
    void misshapenTensorNamesBothShapes() {
        Path file = dir.resolve(AdapterWeights.FILE);
        AdapterWeights.save(new Tiny(3, true, 1), file);
        String msg = assertThrows(IllegalArgumentException.class,
            () -> AdapterWeights.load(new Tiny(2, true, 7), file)).getMessage();
        assertTrue(msg.contains("'base_model.model.model.layers.0.q_proj.lora_A.weight' has shape [3, 6] but the model's is [2, 6]"), msg);
    }

    @Test
    void aModelWithoutAdaptersIsRefused() {
        Holder plain = new Holder();
        plain.add("lm_head", new Linear(2, 2, false, DataType.DOUBLE, Init.zeros()));
        String msg = assertThrows(IllegalArgumentException.class,
            () -> AdapterWeights.save(plain, dir.resolve(AdapterWeights.FILE))).getMessage();
        assertTrue(msg.contains("no LoRA adapters"), msg);
    }

    /** The largest |a - b| over the tensors of two maps with the same keys and shapes. */
    private static double maxDifference(Map<String, INDArray> a, Map<String, INDArray> b) {
        assertEquals(a.keySet(), b.keySet());
        return a.keySet().stream().mapToDouble(k -> a.get(k).sub(b.get(k)).amaxNumber().doubleValue()).max().orElseThrow();
    }

    private static Map<String, INDArray> values(Module m) {
        Map<String, INDArray> out = new java.util.LinkedHashMap<>();
        AdapterWeights.peftParameters(m).forEach((k, t) -> out.put(k, t.value().dup()));
        return out;
    }
}
