// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.data.Safetensors;

/** The module tree: names, registration rules, freezing, modes, state-dict loading and state files. */
class ModuleTest {
    @TempDir
    Path dir;

    /** A projection with a weight [out, in], a bias, a persistent step counter and a non-persistent cache. */
    static final class Proj extends Module {
        final Tensor weight;
        final INDArray steps;

        Proj(int in, int out, DataType dtype, SplittableRandom rng) {
            weight = param("weight", Init.normal(0, 1, rng).create(dtype, out, in));
            param("bias", Init.normal(0, 1, rng).create(dtype, out));
            steps = buffer("steps", Nd4j.createFromArray(new long[] {rng.nextInt(100)}), true);
            buffer("cache", Nd4j.zeros(dtype, 2), false);
        }
    }

    /** A block as in a decoder: two projections and a norm weight registered after them. */
    static final class Block extends Module {
        Block(DataType dtype, SplittableRandom rng) {
            child("q_proj", new Proj(3, 2, dtype, rng));
            child("o_proj", new Proj(2, 3, dtype, rng));
            param("norm", Init.normal(1, 0.1, rng).create(dtype, 3));
        }
    }

    /** embed, two layers, and a head, under Hugging Face-like names. */
    static final class Model extends Module {
        final ModuleList<Block> layers;

        Model(DataType dtype, long seed) {
            SplittableRandom rng = new SplittableRandom(seed);
            param("embed", Init.normal(0, 1, rng).create(dtype, 5, 3));
            layers = child("layers", new ModuleList<>(List.of(new Block(dtype, rng), new Block(dtype, rng))));
            child("lm_head", new Proj(3, 5, dtype, rng));
        }
    }

    /** A module that registers whatever the test asks in its constructor. */
    static final class Custom extends Module {
        Custom(Consumer<Custom> body) {
            body.accept(this);
        }

        Tensor p(String name) {
            return param(name, Nd4j.zeros(DataType.FLOAT, 2));
        }

        <M extends Module> M c(String name, M m) {
            return child(name, m);
        }

        INDArray b(String name) {
            return buffer(name, Nd4j.zeros(DataType.FLOAT, 2), true);
        }
    }

    @Test
    void namesAreDottedPathsInRegistrationOrder() {
        Model m = new Model(DataType.DOUBLE, 1);
        // a module's own parameters come before its children's, as in PyTorch (norm was registered last)
        assertEquals(List.of("embed", "layers.0.norm", "layers.0.q_proj.weight", "layers.0.q_proj.bias",
            "layers.0.o_proj.weight", "layers.0.o_proj.bias", "layers.1.norm", "layers.1.q_proj.weight",
            "layers.1.q_proj.bias", "layers.1.o_proj.weight", "layers.1.o_proj.bias", "lm_head.weight",
            "lm_head.bias"), List.copyOf(m.namedParameters().keySet()));
        assertEquals(List.of("layers.0.q_proj.steps", "layers.0.q_proj.cache", "layers.0.o_proj.steps",
            "layers.0.o_proj.cache", "layers.1.q_proj.steps", "layers.1.q_proj.cache", "layers.1.o_proj.steps",
            "layers.1.o_proj.cache", "lm_head.steps", "lm_head.cache"), List.copyOf(m.namedBuffers().keySet()));
        assertEquals(List.of("", "layers", "layers.0", "layers.0.q_proj", "layers.0.o_proj", "layers.1",
            "layers.1.q_proj", "layers.1.o_proj", "lm_head"), List.copyOf(m.namedModules().keySet()));
        assertSame(m.layers.get(1), m.namedModules().get("layers.1"));

        Map<String, INDArray> state = m.stateDict();
        assertEquals(List.of("embed", "layers.0.norm", "layers.0.q_proj.weight", "layers.0.q_proj.bias",
            "layers.0.q_proj.steps"), List.copyOf(state.keySet()).subList(0, 5));
        assertFalse(state.containsKey("lm_head.cache"), "a non-persistent buffer is not saved");
        assertEquals(13 + 5, state.size());
        assertSame(m.namedParameters().get("embed").value(), state.get("embed"), "the state dict holds live arrays");
    }

    @Test
    void memberNamesMustBeUniqueAndWithoutDots() {
        assertRejected(c -> {
            c.p("w");
            c.p("w");
        }, "already has a member named 'w'");
        assertRejected(c -> {
            c.b("w");
            c.p("w");
        }, "already has a member named 'w'");
        assertRejected(c -> {
            c.c("w", new Custom(x -> { }));
            c.p("w");
        }, "already has a member named 'w'");
        assertRejected(c -> c.p("self_attn.q_proj"), "member name 'self_attn.q_proj' must be non-empty and without dots");
        assertRejected(c -> c.c("", new Custom(x -> { })), "member name '' must be non-empty");
        assertRejected(c -> c.c("head", null), "child 'head' is null");
    }

    @Test
    void freezingChangesTrainableParametersAndCounts() {
        Model m = new Model(DataType.FLOAT, 2);
        long perBlock = 3 * 2 + 2 + 2 * 3 + 3 + 3;   // q_proj, o_proj, norm
        long total = 5 * 3 + 2 * perBlock + 3 * 5 + 5;
        assertEquals(total, m.parameterCount());
        assertEquals(total, m.trainableParameterCount());

        m.layers.get(0).freeze();
        assertEquals(total, m.parameterCount());
        assertEquals(total - perBlock, m.trainableParameterCount());
        assertFalse(m.trainableParameters().containsKey("layers.0.norm"));
        assertTrue(m.trainableParameters().containsKey("layers.1.norm"));
        assertFalse(m.namedParameters().get("layers.0.q_proj.weight").requiresGrad());

        m.freeze();
        assertEquals(0, m.trainableParameterCount());
        assertTrue(m.trainableParameters().isEmpty());
        m.namedModules().get("lm_head").unfreeze();
        assertEquals(List.of("lm_head.weight", "lm_head.bias"), List.copyOf(m.trainableParameters().keySet()));
        m.unfreeze();
        assertEquals(total, m.trainableParameterCount());
    }

    @Test
    void trainAndEvalReachEveryDescendant() {
        Model m = new Model(DataType.FLOAT, 3);
        assertTrue(m.namedModules().values().stream().allMatch(Module::isTraining), "modules start in training mode");
        m.eval();
        assertTrue(m.namedModules().values().stream().noneMatch(Module::isTraining));
        m.layers.get(1).train();
        assertTrue(m.layers.get(1).namedModules().values().stream().allMatch(Module::isTraining));
        assertFalse(m.isTraining());
        assertFalse(m.layers.get(0).isTraining());
        m.train();
        assertTrue(m.namedModules().values().stream().allMatch(Module::isTraining));
    }

    @Test
    void strictLoadNamesTheKeyAndBothShapesAndLoadsNothing() {
        Model m = new Model(DataType.DOUBLE, 4);
        Map<String, INDArray> before = copy(m.stateDict());

        Map<String, INDArray> missing = copy(new Model(DataType.DOUBLE, 5).stateDict());
        missing.remove("layers.1.o_proj.bias");
        assertLoadError(m, missing, "missing keys [layers.1.o_proj.bias]");

        Map<String, INDArray> unexpected = copy(new Model(DataType.DOUBLE, 5).stateDict());
        unexpected.put("layers.2.norm", Nd4j.ones(DataType.DOUBLE, 3));
        assertLoadError(m, unexpected, "unexpected keys [layers.2.norm]");

        Map<String, INDArray> misshapen = copy(new Model(DataType.DOUBLE, 5).stateDict());
        misshapen.put("layers.0.q_proj.weight", Nd4j.ones(DataType.DOUBLE, 3, 2));
        assertLoadError(m, misshapen, "misshapen keys [layers.0.q_proj.weight: module [2, 3], file [3, 2]]");

        assertStatesEqual(before, m.stateDict());
    }

    @Test
    void nonStrictLoadReportsMismatchesAndLoadsTheRest() {
        Model m = new Model(DataType.DOUBLE, 6);
        Model source = new Model(DataType.DOUBLE, 7);
        INDArray keptWeight = m.layers.get(0).namedParameters().get("q_proj.weight").value().dup();
        INDArray keptBias = m.namedParameters().get("lm_head.bias").value().dup();
        Map<String, INDArray> state = copy(source.stateDict());
        state.remove("lm_head.bias");
        state.put("layers.0.q_proj.weight", Nd4j.ones(DataType.DOUBLE, 4, 3));
        state.put("extra.weight", Nd4j.ones(DataType.DOUBLE, 1));
        Tensor embed = m.namedParameters().get("embed");
        int version = embed.version();

        // outside any no-grad scope: loading must not be refused as an in-place change of a trainable leaf
        LoadReport r = m.loadStateDict(state, false);

        assertEquals(List.of("lm_head.bias"), r.missing());
        assertEquals(List.of("extra.weight"), r.unexpected());
        assertEquals(List.of("layers.0.q_proj.weight: module [2, 3], file [4, 3]"), r.misshapen());
        assertFalse(r.isClean());
        assertEquals(keptWeight, m.namedParameters().get("layers.0.q_proj.weight").value());
        assertEquals(keptBias, m.namedParameters().get("lm_head.bias").value());
        assertEquals(source.namedParameters().get("embed").value(), embed.value());
        assertEquals(source.stateDict().get("layers.1.o_proj.steps"), m.stateDict().get("layers.1.o_proj.steps"));
        assertTrue(embed.version() > version, "loading bumps the version, so a saved old value is detected");
    }

    @Test
    void saveAndLoadRoundTripThroughAStateFile() throws IOException {
        Model a = new Model(DataType.FLOAT, 8);
        Model b = new Model(DataType.FLOAT, 9);
        b.namedBuffers().get("lm_head.cache").assign(7);
        Path file = dir.resolve("model.safetensors");
        StateFiles.save(a, file);
        assertEquals(List.copyOf(a.stateDict().keySet()), List.copyOf(Safetensors.read(file).keySet()));

        LoadReport r = StateFiles.load(b, file, true);

        assertTrue(r.isClean(), r.describe());
        assertStatesEqual(a.stateDict(), b.stateDict());
        assertEquals(Nd4j.valueArrayOf(new long[] {2}, 7f), b.namedBuffers().get("lm_head.cache"),
            "a non-persistent buffer is neither saved nor overwritten");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void loadingConvertsTheFileDtypeToTheModuleDtype() throws IOException {
        Model f32 = new Model(DataType.FLOAT, 10);
        Path floats = dir.resolve("f32.safetensors");
        StateFiles.save(f32, floats);
        Model f64 = new Model(DataType.DOUBLE, 11);
        assertTrue(StateFiles.load(f64, floats, true).isClean());
        f32.stateDict().forEach((k, v) -> {
            assertEquals(f64.namedParameters().containsKey(k) ? DataType.DOUBLE : DataType.LONG,
                f64.stateDict().get(k).dataType(), k);
            assertArrayEquals(v.castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(), f64.stateDict().get(k).castTo(DataType.DOUBLE)
                .reshape(-1).toDoubleVector(), k);
        });

        // a bfloat16 checkpoint (as Hugging Face ships many) into a float32 model
        Map<String, INDArray> bf16 = new LinkedHashMap<>();
        f32.stateDict().forEach((k, v) -> bf16.put(k, v.dataType() == DataType.FLOAT ? v.castTo(DataType.BFLOAT16) : v));
        Path brain = dir.resolve("bf16.safetensors");
        Safetensors.write(brain, bf16, Map.of());
        Model target = new Model(DataType.FLOAT, 12);
        assertTrue(StateFiles.load(target, brain, true).isClean());
        bf16.forEach((k, v) -> {
            INDArray got = target.stateDict().get(k);
            assertEquals(k.endsWith("steps") ? DataType.LONG : DataType.FLOAT, got.dataType(), k);
            assertArrayEquals(v.castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(),
                got.castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(), k);
        });
        INDArray w = target.namedParameters().get("embed").value();
        assertTrue(w.neq(f32.namedParameters().get("embed").value()).any(), "bf16 rounding is visible, so it was read");
    }

    @Test
    void stateFileErrorsNameTheFile() throws IOException {
        Path absent = dir.resolve("absent.safetensors");
        var e = assertThrows(IllegalArgumentException.class, () -> StateFiles.load(new Model(DataType.FLOAT, 1), absent, true));
        assertTrue(e.getMessage().contains(absent.toString()), e.getMessage());

        Path small = dir.resolve("small.safetensors");
        StateFiles.save(new Custom(c -> c.p("w")), small);
        e = assertThrows(IllegalArgumentException.class, () -> StateFiles.load(new Model(DataType.FLOAT, 1), small, true));
        assertTrue(e.getMessage().contains(small.toString()) && e.getMessage().contains("unexpected keys [w]")
            && e.getMessage().contains("missing keys [embed,"), e.getMessage());
        LoadReport r = StateFiles.load(new Model(DataType.FLOAT, 1), small, false);
        assertEquals(List.of("w"), r.unexpected());
        assertEquals(13 + 5, r.missing().size());
    }

    @Test
    void aSharedChildIsOneSetOfParameters() {
        Proj shared = new Proj(2, 2, DataType.FLOAT, new SplittableRandom(13));
        Custom tied = new Custom(c -> {
            c.c("embed", shared);
            c.c("head", shared);
        });
        // PyTorch lists a tied parameter once, so an optimizer steps it once; the state dict keeps both keys
        assertEquals(List.of("embed.weight", "embed.bias"), List.copyOf(tied.namedParameters().keySet()));
        assertEquals(List.of("", "embed"), List.copyOf(tied.namedModules().keySet()));
        assertEquals(6, tied.parameterCount());
        assertEquals(List.of("embed.weight", "embed.bias", "embed.steps", "head.weight", "head.bias", "head.steps"),
            List.copyOf(tied.stateDict().keySet()));
        Map<String, INDArray> state = copy(tied.stateDict());
        state.get("embed.weight").assign(3);
        state.get("head.weight").assign(3);
        assertTrue(tied.loadStateDict(state, true).isClean());
        assertEquals(Nd4j.valueArrayOf(new long[] {2, 2}, 3f), shared.weight.value());
    }

    private static void assertRejected(Consumer<Custom> body, String expected) {
        var e = assertThrows(IllegalArgumentException.class, () -> new Custom(body));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static void assertLoadError(Module m, Map<String, INDArray> state, String expected) {
        var e = assertThrows(IllegalArgumentException.class, () -> m.loadStateDict(state, true));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static Map<String, INDArray> copy(Map<String, INDArray> state) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        state.forEach((k, v) -> out.put(k, v.dup()));
        return out;
    }

    private static void assertStatesEqual(Map<String, INDArray> expected, Map<String, INDArray> actual) {
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(actual.keySet()));
        expected.forEach((k, v) -> {
            assertEquals(v.dataType(), actual.get(k).dataType(), k);
            assertArrayEquals(v.castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(),
                actual.get(k).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(), k);
        });
    }
}
