// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.layers.Rope;
import spindle.layers.RopeTest;
import spindle.testing.PyTorch;

/**
 * MultiHeadAttention against torch_ref.py's GQAttention in float64: the output and every gradient agree within
 * 1e-12 both with torch computing its own float32 RoPE tables (Rope's tables are bit-equal to them, see
 * TorchFloat32Trig) and with Spindle's tables handed to torch. Skips without PyTorch unless SPINDLE_REQUIRE_TORCH=1.
 */
class GqaTorchParityTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Named<AttentionDims>> dims() {
        // torch_ref's GQAttention has no bias and head_dim = hidden_size / heads
        return Stream.of(Named.of("MHA", new AttentionDims(8, 2, 2, 4, false)),
            Named.of("GQA", new AttentionDims(8, 4, 2, 2, false)), Named.of("MQA", new AttentionDims(8, 4, 1, 2, false)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dims")
    void forwardAndGradientsMatchGqAttention(AttentionDims d) throws IOException {
        Path torchRef = RopeTest.torchRefDir();
        MultiHeadAttention mha = MultiHeadAttentionTest.layer(d, 21);
        Rope rope = new Rope(d.headDim(), 10000, 32, spindle.autograd.ops.RopeLayout.ROTATE_HALF,
            org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        Tensor x = MultiHeadAttentionTest.random(22, 2, 6, d.hidden()).requiresGrad(true);
        Tensor seed = MultiHeadAttentionTest.random(23, 2, 6, d.hidden());
        Tensor y = mha.forward(x, null).keep();
        Reductions.sum(Elementwise.mul(y, seed)).backward();

        Map<String, Object> in = new LinkedHashMap<>();
        in.put("config", Map.of("hidden_size", d.hidden(), "num_attention_heads", d.heads(),
            "num_key_value_heads", d.kvHeads(), "rope_theta", 10000.0));
        Map<String, Object> params = new LinkedHashMap<>();
        mha.namedParameters().forEach((n, p) -> params.put(n, entry(p.value())));
        in.put("params", params);
        in.put("x", entry(x.value()));
        in.put("seed", entry(seed.value()));
        compare(mha, x, y, run(torchRef, in, d, "own"), 1e-12);
        in.put("cos", entry(rope.cos().get(NDArrayIndex.interval(0, 6), NDArrayIndex.all())));
        in.put("sin", entry(rope.sin().get(NDArrayIndex.interval(0, 6), NDArrayIndex.all())));
        compare(mha, x, y, run(torchRef, in, d, "same"), 1e-12);
    }

    private static JsonNode run(Path torchRef, Map<String, Object> in, AttentionDims d, String tag) throws IOException {
        Path dir = Files.createDirectories(Path.of("target", "gqa-parity"));
        String name = d.heads() + "-" + d.kvHeads() + "-" + tag;
        Path input = dir.resolve("input-" + name + ".json");
        Path output = dir.resolve("output-" + name + ".json");
        JSON.writeValue(input.toFile(), in);
        PyTorch.run(Path.of("src", "test", "python", "gqa_ref.py"), 300, torchRef.toString(), input.toString(),
            output.toString());
        return JSON.readTree(output.toFile());
    }

    private static void compare(MultiHeadAttention mha, Tensor x, Tensor y, JsonNode ref, double tol) {
        assertClose("y", ref.get("y"), y.value(), tol);
        assertClose("d/dx", ref.get("grads").get("x"), x.grad(), tol);
        mha.namedParameters().forEach((n, p) -> assertClose("d/d " + n, ref.get("grads").get(n), p.grad(), tol));
    }

    static Map<String, Object> entry(INDArray a) {
        return Map.of("shape", a.shape(), "data", a.dup('c').data().asDouble());
    }

    static void assertClose(String what, JsonNode expected, INDArray actual, double tol) {
        double[] got = actual.dup('c').data().asDouble();
        assertEquals(expected.size(), got.length, what + ": element count");
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs(expected.get(i).asDouble() - got[i]));
        }
        System.out.println("GqaTorchParityTest " + what + " (tolerance " + tol + "): max |torch - spindle| " + worst);
        for (int i = 0; i < got.length; i++) {
            double want = expected.get(i).asDouble();
            assertTrue(Math.abs(want - got[i]) <= tol * Math.max(1, Math.abs(want)),
                what + " at flat index " + i + ": torch " + want + ", spindle " + got[i] + " (tolerance " + tol + ")");
        }
    }
}
