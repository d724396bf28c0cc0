// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Reductions;
import spindle.layers.Init;
import spindle.layers.RopeTest;
import spindle.testing.PyTorch;

/**
 * The fake quantizers and QatLinear against torch_ref.py's own functions (fq_act_int8_per_token, fq_weight,
 * QatLinear), run by qat_ref.py: the fake-quantized values and the gradients of sum(y * seed) must be equal
 * element by element (no tolerance) in float64 and float32, on random inputs and on the hand-made inputs of
 * FakeQuantTest (ties at .5, clamped codes, a zero group, a constant group on tinygemm's 1e-6 scale floor).
 * QatLinear's output and gradients agree within 1e-12 (the matmul's summation order may differ).
 * Without PyTorch the test skips, naming why, unless SPINDLE_REQUIRE_TORCH=1.
 */
class FakeQuantTorchParityTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** One fake-quantizer case: torch_ref's kind and group, Spindle's op, the input and its upstream gradient. */
    record Case(String name, String kind, int group, UnaryOperator<Tensor> op, INDArray x, INDArray seed) {}

    @Test
    void fakeQuantizersEqualTorchRefElementByElement() throws IOException {
        List<Case> cases = new ArrayList<>();
        for (DataType dt : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            cases.add(fq("act random " + dt, "act", 0, FakeQuant::int8PerToken, random(1, dt, 2, 3, 16)));
            cases.add(fq("8da4w random " + dt, "8da4w", 8, w -> FakeQuant.int4Symmetric(w, 8), random(2, dt, 4, 32)));
            cases.add(fq("int4wo random " + dt, "int4wo", 8, w -> FakeQuant.int4WeightOnly(w, 8), random(3, dt, 4, 32)));
            cases.add(fq("int8wo random " + dt, "int8wo", 32, FakeQuant::int8PerChannel, random(4, dt, 4, 32)));
            cases.add(fq("act ties " + dt, "act", 0, FakeQuant::int8PerToken, exact(FakeQuantTest.ACT, dt, 1, 8)));
            double[] ties = FakeQuantTest.concat(FakeQuantTest.eighths(7.5, 0.5, 1.5, 2.5, -7.5, -2.5, 3.5, 0),
                FakeQuantTest.sixteenths(7.5, -7.5, 0.5, -2.5), FakeQuantTest.zeros(4));
            cases.add(fq("8da4w ties " + dt, "8da4w", 4, w -> FakeQuant.int4Symmetric(w, 4), exact(ties, dt, 2, 8)));
            double[] tiny = FakeQuantTest.concat(FakeQuantTest.sixteenths(0, 15, 2.5, 7.5, -1, 1.5, 3.5, 14),
                new double[] {0.3, 0.3, 0.3, 0.3}, FakeQuantTest.sixteenths(1, 2, 3, 16));
            cases.add(fq("int4wo ties " + dt, "int4wo", 4, w -> FakeQuant.int4WeightOnly(w, 4), exact(tiny, dt, 2, 8)));
            double[] i8 = FakeQuantTest.scaled(1.0 / 128, 127.5, 0.5, -1.5, 2.5, -127.5, 126.5, -0.5, 3.5);
            cases.add(fq("int8wo ties " + dt, "int8wo", 4, FakeQuant::int8PerChannel, exact(i8, dt, 2, 4)));
        }
        List<Map<String, Object>> in = new ArrayList<>();
        for (Case c : cases) {
            in.add(Map.of("kind", c.kind(), "group", c.group(), "dtype", dtypeName(c.x()), "x", entry(c.x()),
                "seed", entry(c.seed())));
        }
        JsonNode ref = run(in, "fake-quant");
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Tensor x = Tensor.of(c.x()).requiresGrad(true);
            Tensor y = c.op().apply(x).keep();
            Reductions.sum(Elementwise.mul(y, Tensor.of(c.seed()))).backward();
            assertClose(c.name() + " y", ref.get(i).get("y"), y.value(), 0.0);
            assertClose(c.name() + " d/dx", ref.get(i).get("grads").get("x"), x.grad(), 0.0);
        }
    }

    @Test
    void qatLinearEqualsTorchRefQatLinear() throws IOException {
        List<QatLinear> layers = new ArrayList<>();
        List<Map<String, Object>> in = new ArrayList<>();
        List<INDArray> xs = new ArrayList<>();
        List<INDArray> seeds = new ArrayList<>();
        int seed = 10;
        for (QatScheme scheme : QatScheme.values()) {
            for (boolean bias : new boolean[] {true, false}) {
                QatLinear layer = new QatLinear(32, 5, bias, DataType.DOUBLE, Init.zeros(), scheme, 8);
                layer.weight().value().assign(random(seed++, DataType.DOUBLE, 5, 32));
                if (bias) {
                    layer.bias().value().assign(random(seed++, DataType.DOUBLE, 5));
                }
                INDArray x = random(seed++, DataType.DOUBLE, 2, 3, 32);
                INDArray dy = random(seed++, DataType.DOUBLE, 2, 3, 5);
                Map<String, Object> c = new LinkedHashMap<>(Map.of("kind", "linear", "scheme", scheme.id(),
                    "group", scheme == QatScheme.INT8_WEIGHT_ONLY ? 32 : 8, "dtype", "float64", "x", entry(x),
                    "seed", entry(dy), "weight", entry(layer.weight().value())));
                if (bias) {
                    c.put("bias", entry(layer.bias().value()));
                }
                layers.add(layer);
                in.add(c);
                xs.add(x);
                seeds.add(dy);
            }
        }
        JsonNode ref = run(in, "linear");
        for (int i = 0; i < layers.size(); i++) {
            QatLinear layer = layers.get(i);
            String name = layer.scheme().id() + (layer.bias() != null ? " with bias" : " without bias");
            Tensor x = Tensor.of(xs.get(i)).requiresGrad(true);
            Tensor y = layer.forward(x).keep();
            Reductions.sum(Elementwise.mul(y, Tensor.of(seeds.get(i)))).backward();
            JsonNode grads = ref.get(i).get("grads");
            assertClose(name + " y", ref.get(i).get("y"), y.value(), 1e-12);
            assertClose(name + " d/dx", grads.get("x"), x.grad(), 1e-12);
            layer.namedParameters().forEach((n, p) -> assertClose(name + " d/d " + n, grads.get(n), p.grad(), 1e-12));
        }
    }

    private static Case fq(String name, String kind, int group, UnaryOperator<Tensor> op, INDArray x) {
        return new Case(name, kind, group, op, x, random(name.hashCode(), x.dataType(), x.shape()));
    }

    /** Normal numbers times 3, shifted by 0.5, so rows are not centred on zero. */
    static INDArray random(long seed, DataType dtype, long... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] v = new double[(int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
        for (int i = 0; i < v.length; i++) {
            v[i] = 3 * (rng.nextDouble() + rng.nextDouble() + rng.nextDouble() - 1.5) + 0.5;
        }
        return Nd4j.create(v, shape, 'c').castTo(dtype);
    }

    private static INDArray exact(double[] v, DataType dtype, long... shape) {
        return Nd4j.create(v, shape, 'c').castTo(dtype);
    }

    private static String dtypeName(INDArray a) {
        return a.dataType() == DataType.FLOAT ? "float32" : "float64";
    }

    private static Map<String, Object> entry(INDArray a) {
        return Map.of("shape", a.shape(), "data", a.dup('c').data().asDouble());
    }

    private static JsonNode run(List<Map<String, Object>> in, String tag) throws IOException {
        Path torchRef = RopeTest.torchRefDir();
        Path dir = Files.createDirectories(Path.of("target", "qat-parity"));
        Path input = dir.resolve("input-" + tag + ".json");
        Path output = dir.resolve("output-" + tag + ".json");
        JSON.writeValue(input.toFile(), in);
        PyTorch.run(Path.of("src", "test", "python", "qat_ref.py"), 300, torchRef.toString(), input.toString(),
            output.toString());
        return JSON.readTree(output.toFile());
    }

    /** Element by element, NaN-safe: |torch - spindle| <= tol * max(1, |torch|) (tol 0: bit-equal values). */
    static void assertClose(String what, JsonNode expected, INDArray actual, double tol) {
        double[] got = actual.dup('c').data().asDouble();
        assertEquals(expected.size(), got.length, what + ": element count");
        for (int i = 0; i < got.length; i++) {
            double want = expected.get(i).asDouble();
            assertTrue(Math.abs(want - got[i]) <= tol * Math.max(1, Math.abs(want)),
                what + " at flat index " + i + ": torch " + want + ", spindle " + got[i] + " (tolerance " + tol + ")");
        }
    }
}
