// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static spindle.layers.RopeTest.torchRefDir;
import static spindle.layers.TorchLayersTest.assertClose;
import static spindle.layers.TorchLayersTest.json;

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
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.testing.PyTorch;

/**
 * LoraLinear's output and gradients (of sum(y ⊙ dy), for x, A, B and DoRA's m) equal those of the PyTorch
 * reference adapter (PEFT's formulas, DoRA's norm detached) on the same float64 numbers, to 1e-12. Without
 * PyTorch the test skips, naming why, unless SPINDLE_REQUIRE_TORCH=1.
 */
class LoraTorchParityTest {
    static final DataType F64 = DataType.DOUBLE;
    static final ObjectMapper JSON = new ObjectMapper();
    static JsonNode reference;

    record Case(String name, LoraOptions options, boolean bias) {
        /** A fresh layer with the case's seeded base, A, a non-zero B and a moved magnitude. */
        LoraLinear layer() {
            SplittableRandom rng = new SplittableRandom(name.hashCode());
            Linear base = new Linear(6, 5, bias, F64, Init.normal(0, 0.6, rng));
            LoraLinear lora = new LoraLinear(base, options, rng);
            try (GradMode.Scope off = GradMode.disable()) {
                lora.loraB().weight().mutate(b -> b.assign(Init.normal(0, 0.4, rng).create(F64, b.shape())));
                if (bias) {
                    lora.bias().mutate(b -> b.assign(Init.normal(0, 0.4, rng).create(F64, b.shape())));
                }
                if (options.dora()) {
                    lora.magnitude().mutate(m -> m.addi(Init.uniform(0.3, rng).create(F64, m.shape())));
                }
            }
            return lora;
        }

        INDArray x() {
            return Init.normal(0, 1, new SplittableRandom(name.hashCode() + 1L)).create(F64, 2, 3, 6);
        }

        INDArray dy() {
            return Init.normal(0, 1, new SplittableRandom(name.hashCode() + 2L)).create(F64, 2, 3, 5);
        }
    }

    static List<Named<Case>> cases() {
        return List.of(
            new Case("LoRA r 3 alpha 6 with bias", LoraOptions.lora(3, 6), true),
            new Case("rsLoRA r 4 alpha 3", new LoraOptions(4, 3, true, false), false),
            new Case("DoRA r 2 alpha 4 with bias", new LoraOptions(2, 4, false, true), true),
            new Case("DoRA r 2 alpha 4 without bias", new LoraOptions(2, 4, false, true), false),
            new Case("DoRA with rsLoRA r 3 alpha 5", new LoraOptions(3, 5, true, true), true)
        ).stream().map(c -> Named.of(c.name(), c)).toList();
    }

    @BeforeAll
    static void runPyTorch() throws IOException {
        Path torchRef = torchRefDir();
        Map<String, Object> input = new LinkedHashMap<>();
        for (Named<Case> named : cases()) {
            Case c = named.getPayload();
            LoraOptions o = c.options();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("config", Map.of("in", 6, "out", 5, "bias", c.bias(), "r", o.r(), "alpha", o.alpha(),
                "rslora", o.rsLora(), "dora", o.dora()));
            Map<String, Object> params = new LinkedHashMap<>();
            c.layer().stateDict().forEach((k, v) -> params.put(k, json(v)));
            entry.put("params", params);
            entry.put("x", json(c.x()));
            entry.put("dy", json(c.dy()));
            input.put(c.name(), entry);
        }
        Path dir = Files.createDirectories(Path.of("target", "lora-parity"));
        Path in = dir.resolve("input.json");
        Path out = dir.resolve("output.json");
        JSON.writeValue(in.toFile(), input);
        PyTorch.run(Path.of("src", "test", "python", "lora_ref.py"), 300, torchRef.toString(), in.toString(),
            out.toString());
        reference = JSON.readTree(out.toFile());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void outputAndGradientsEqualPyTorch(Case c) {
        LoraLinear lora = c.layer();
        JsonNode ref = reference.get(c.name());
        assertNotNull(ref, "lora_ref.py wrote no result for " + c.name());
        Tensor x = Tensor.of(c.x()).requiresGrad(true);
        Tensor y = lora.forward(x).keep();
        y.backward(c.dy());
        assertClose(c.name() + ": y", ref.get("y"), y.value());
        JsonNode grads = ref.get("grads");
        Map<String, Tensor> trained = lora.trainableParameters();
        trained.forEach((name, p) -> assertClose(c.name() + ": d/d " + name, grads.get(name), p.grad()));
        assertClose(c.name() + ": d/dx", grads.get("x"), x.grad());
        assertEquals(grads.size(), trained.size() + 1, c.name() + ": gradients compared vs PyTorch's " + grads);
        assertNull(lora.weight().grad(), "frozen base weight");
    }
}
