// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.layers.Rope;
import spindle.layers.RopeTest;
import spindle.testing.PyTorch;

/**
 * The float64 training forward and its gradients equal torch_ref.py's MLAttention (shared/bench, found by
 * walking up from the working directory) within 1e-12, with and without q_lora_rank, given the same RoPE
 * tables (their parity with torch_ref is RopeTest's). Skips without PyTorch
 * or torch_ref.py unless SPINDLE_REQUIRE_TORCH=1.
 */
class MlaTorchParityTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path SCRIPT = Path.of("src", "test", "python", "mla_ref.py");

    static Stream<Named<MlaDims>> dims() {
        return MultiHeadLatentAttentionTest.dims();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dims")
    void forwardAndGradientsMatchTorchRef(MlaDims d) throws IOException {
        Path torchRef = RopeTest.torchRefDir();
        MultiHeadLatentAttention mla = MlaFixtures.layer(d, 51);
        Tensor x = MlaFixtures.random(52, 2, 6, d.hidden()).requiresGrad(true);
        Tensor seed = MlaFixtures.random(53, 2, 6, d.hidden());
        Tensor y = mla.forward(x, null).keep();
        Reductions.sum(Elementwise.mul(y, seed)).backward();

        Path dir = Files.createDirectories(Path.of("target", "mla-parity"));
        Path in = dir.resolve("input-q" + d.qLoraRank() + ".json");
        Path out = dir.resolve("output-q" + d.qLoraRank() + ".json");
        Map<String, Object> params = new LinkedHashMap<>();
        mla.namedParameters().forEach((n, p) -> params.put(n, entry(p.value())));
        Rope rope = MlaFixtures.rope(d, DataType.DOUBLE);     // the same tables as the layer's own rope
        INDArrayIndex[] rows = {NDArrayIndex.interval(0, x.size(1)), NDArrayIndex.all()};
        JSON.writeValue(in.toFile(), Map.of("config", hfConfig(d), "params", params, "x", entry(x.value()),
            "seed", entry(seed.value()), "cos", entry(rope.cos().get(rows)), "sin", entry(rope.sin().get(rows))));
        PyTorch.run(SCRIPT, 300, torchRef.toString(), in.toString(), out.toString());

        JsonNode ref = JSON.readTree(out.toFile());
        assertClose("y", ref.get("y"), y.value());
        assertClose("d/dx", ref.get("grads").get("x"), x.grad());
        mla.namedParameters().forEach((n, p) -> assertClose("d/d " + n, ref.get("grads").get(n), p.grad()));
    }

    static Map<String, Object> hfConfig(MlaDims d) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("hidden_size", d.hidden());
        c.put("num_attention_heads", d.heads());
        c.put("q_lora_rank", d.hasQueryLora() ? d.qLoraRank() : null);
        c.put("kv_lora_rank", d.kvLoraRank());
        c.put("qk_nope_head_dim", d.qkNopeHeadDim());
        c.put("qk_rope_head_dim", d.qkRopeHeadDim());
        c.put("v_head_dim", d.vHeadDim());
        c.put("rms_norm_eps", d.rmsNormEps());
        c.put("rope_theta", MlaFixtures.THETA);
        return c;
    }

    static Map<String, Object> entry(INDArray a) {
        return Map.of("shape", a.shape(), "data", a.dup('c').data().asDouble());
    }

    static void assertClose(String what, JsonNode expected, INDArray actual) {
        assertTrue(expected != null && actual != null, what + ": missing on one side");
        double[] got = actual.dup('c').data().asDouble();
        assertEquals(expected.size(), got.length, what + ": element count");
        for (int i = 0; i < got.length; i++) {
            double want = expected.get(i).asDouble();
            if (!(Math.abs(want - got[i]) <= 1e-12 * Math.max(1, Math.abs(want)))) {   // a NaN fails
                fail(what + " at flat index " + i + ": torch " + want + ", spindle " + got[i]);
            }
        }
    }
}
