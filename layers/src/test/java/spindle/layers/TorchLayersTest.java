// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.testing.PyTorch;

/**
 * Outputs and gradients (of sum(y * dy), for the input and every parameter) of the basic layers equal those
 * of layers_ref.py, which runs torch.nn.Linear, Embedding, LayerNorm, torch_ref's RMSNorm and SwiGLU and an
 * nn.GELU / nn.ReLU MLP on the same float64 numbers, to 1e-12. Without PyTorch the test skips, naming why,
 * unless SPINDLE_REQUIRE_TORCH=1.
 */
public class TorchLayersTest {
    static final DataType F64 = DataType.DOUBLE;
    static final ObjectMapper JSON = new ObjectMapper();
    static final double TOL = 1e-12;
    static JsonNode reference;

    /** One layer with its torch kind and constructor config, run on x (or ids) with upstream gradient dy. */
    record Case(String name, String kind, Map<String, Object> config, Layer layer, INDArray input) {
        INDArray dy(long[] shape) {
            return randn(name.hashCode() + 1L, shape);
        }
    }

    static List<Case> cases() {
        INDArray x = randn(1, 2, 3, 6);
        LinearFactory linears = LinearFactory.plain(F64, Init.zeros());
        return List.of(
            new Case("Linear with bias", "linear", Map.of("in", 6, "out", 4, "bias", true),
                new Linear(6, 4, true, F64, Init.zeros()), x),
            new Case("Linear without bias", "linear", Map.of("in", 6, "out", 4, "bias", false),
                new Linear(6, 4, false, F64, Init.zeros()), x),
            new Case("Embedding, repeated ids", "embedding", Map.of("vocab", 7, "dim", 5),
                new Embedding(7, 5, F64, Init.zeros()), Nd4j.createFromArray(new long[][] {{1, 6, 1}, {0, 3, 6}})),
            new Case("LayerNorm eps 1e-5", "layer_norm", Map.of("dim", 6, "eps", 1e-5, "affine", true),
                new LayerNorm(6, 1e-5, true, F64), x),
            new Case("LayerNorm without affine", "layer_norm", Map.of("dim", 6, "eps", 1e-5, "affine", false),
                new LayerNorm(6, 1e-5, false, F64), x),
            new Case("RmsNorm eps 1e-6", "rms_norm", Map.of("dim", 6, "eps", 1e-6), new RmsNorm(6, 1e-6, F64), x),
            new Case("SwiGlu 6 -> 10", "swiglu", Map.of("hidden", 6, "intermediate", 10), new SwiGlu(6, 10, linears), x),
            mlp(MlpActivation.GELU, true, x),
            mlp(MlpActivation.GELU_TANH, false, x),
            mlp(MlpActivation.RELU, true, x));
    }

    static Case mlp(MlpActivation act, boolean bias, INDArray x) {
        return new Case("Mlp " + act + (bias ? " with bias" : " without bias"), "mlp",
            Map.of("hidden", 6, "intermediate", 9, "act", act.name(), "bias", bias),
            new Mlp(6, 9, act, bias, LinearFactory.plain(F64, Init.zeros())), x);
    }

    static List<Named<Case>> named() {
        return cases().stream().map(c -> Named.of(c.name(), c)).toList();
    }

    @BeforeAll
    static void runPyTorch() throws IOException {
        Path torchRef = RopeTest.torchRefDir();
        Map<String, Object> input = new LinkedHashMap<>();
        for (Case c : cases()) {
            randomize(c);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("kind", c.kind());
            entry.put("config", c.config());
            entry.put(c.input().dataType() == F64 ? "x" : "ids", json(c.input()));
            Map<String, Object> params = new LinkedHashMap<>();
            c.layer().stateDict().forEach((k, v) -> params.put(k, json(v)));
            entry.put("params", params);
            long[] yShape = c.layer().forward(Tensor.of(c.input())).shape();
            entry.put("dy", json(c.dy(yShape)));
            input.put(c.name(), entry);
        }
        Path dir = Files.createDirectories(Path.of("target", "layers-parity"));
        Path in = dir.resolve("input.json");
        Path out = dir.resolve("output.json");
        JSON.writeValue(in.toFile(), input);
        PyTorch.run(Path.of("src", "test", "python", "layers_ref.py"), 300, torchRef.toString(), in.toString(), out.toString());
        reference = JSON.readTree(out.toFile());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("named")
    void outputAndGradientsEqualPyTorch(Case c) {
        randomize(c);
        JsonNode ref = reference.get(c.name());
        assertNotNull(ref, "layers_ref.py wrote no result for " + c.name());
        boolean floatInput = c.input().dataType() == F64;
        Tensor x = Tensor.of(c.input().dup()).requiresGrad(floatInput);
        c.layer().zeroGrad();
        Tensor y = c.layer().forward(x).keep();
        y.backward(c.dy(y.shape()));
        assertClose(c.name() + ": y", ref.get("y"), y.value());
        JsonNode grads = ref.get("grads");
        int compared = 0;
        for (Map.Entry<String, Tensor> p : c.layer().namedParameters().entrySet()) {
            assertClose(c.name() + ": d/d " + p.getKey(), grads.get(p.getKey()), p.getValue().grad());
            compared++;
        }
        if (floatInput) {
            assertClose(c.name() + ": d/dx", grads.get("x"), x.grad());
            compared++;
        }
        assertEquals(grads.size(), compared, c.name() + ": gradients compared vs PyTorch's " + grads);
    }

    /** Every parameter gets seeded normal values (not the ones/zeros a fresh layer has). */
    static void randomize(Case c) {
        SplittableRandom rng = new SplittableRandom(c.name().hashCode());
        Map<String, INDArray> state = new LinkedHashMap<>();
        c.layer().stateDict().forEach((k, v) -> state.put(k, randn(rng.nextLong(), v.shape()).muli(0.7)));
        try (GradMode.Scope off = GradMode.disable()) {
            c.layer().loadStateDict(state, true);
        }
    }

    /** Fails naming the first element of {@code got} not within 1e-12 of PyTorch's {shape, data} (NaN fails). */
    public static void assertClose(String what, JsonNode want, INDArray got) {
        assertNotNull(want, what + ": missing in PyTorch's output");
        assertNotNull(got, what + ": no gradient");
        long[] shape = JSON.convertValue(want.get("shape"), long[].class);
        assertArrayEquals(shape, got.shape(), what + " shape");
        double[] g = got.dup('c').reshape(got.length()).toDoubleVector();
        JsonNode data = want.get("data");
        for (int i = 0; i < g.length; i++) {
            double w = data.get(i).asDouble();
            if (!(Math.abs(w - g[i]) <= TOL)) {
                fail(what + " at flat index " + i + ": torch " + w + ", spindle " + g[i] + ", |diff| " + Math.abs(w - g[i]));
            }
        }
    }

    /** {shape, data} of {@code a} as the Python side reads it. */
    public static Map<String, Object> json(INDArray a) {
        Object data = a.dataType() == F64 ? a.dup('c').reshape(a.length()).toDoubleVector()
            : a.dup('c').reshape(a.length()).toLongVector();
        return Map.of("shape", a.shape(), "data", data);
    }

    static INDArray randn(long seed, long... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        INDArray v = Nd4j.create(F64, shape);
        for (long i = 0; i < v.length(); i++) {
            // Box-Muller: a standard normal from two uniforms
            v.putScalar(i, Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble()));
        }
        return v;
    }
}
