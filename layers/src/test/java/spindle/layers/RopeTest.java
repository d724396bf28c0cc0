// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;
import spindle.autograd.ops.RopeLayout;
import spindle.testing.PyTorch;

/** Rope's tables against the formula and torch_ref, positions from startPos, and its argument errors. */
public class RopeTest {

    @ParameterizedTest
    @EnumSource(RopeLayout.class)
    void tablesHoldEachPairsAngleAtBothOfItsChannels(RopeLayout layout) {
        int dim = 8;
        double theta = 10000;
        Rope rope = new Rope(dim, theta, 50, layout, DataType.DOUBLE);
        for (int p = 0; p < 50; p++) {
            for (int i = 0; i < dim / 2; i++) {
                double angle = p * Math.pow(theta, -2.0 * i / dim);
                int a = layout == RopeLayout.ROTATE_HALF ? i : 2 * i;
                int b = layout == RopeLayout.ROTATE_HALF ? i + dim / 2 : 2 * i + 1;
                for (int c : new int[] {a, b}) {
                    // float32 tables: within float32 rounding of the exact angle's cos and sin
                    assertEquals(Math.cos(angle), rope.cos().getDouble(p, c), 2e-6 * Math.max(1, p / 8.0));
                    assertEquals(Math.sin(angle), rope.sin().getDouble(p, c), 2e-6 * Math.max(1, p / 8.0));
                }
            }
        }
    }

    @ParameterizedTest(name = "rot_dim {0}, {1} positions, theta {2}")
    @CsvSource({"16, 512, 10000", "4, 1001, 500000", "6, 999, 10000", "64, 4096, 500000"})
    void tablesAreTorchRefsFloat32TablesBitForBit(int dim, int n, double theta) throws Exception {
        Path torchRef = torchRefDir();
        Path script = Path.of("src", "test", "python", "rope_tables.py");
        JsonNode ref = new ObjectMapper().readTree(PyTorch.run(script, 120, torchRef.toString(), "" + dim, "" + n,
            "" + theta));
        for (RopeLayout layout : RopeLayout.values()) {
            Rope rope = new Rope(dim, theta, n, layout, DataType.DOUBLE);
            for (String which : new String[] {"cos", "sin"}) {
                double[] got = (which.equals("cos") ? rope.cos() : rope.sin()).dup('c').data().asDouble();
                JsonNode want = ref.get(which);
                assertEquals(want.size(), got.length, which + " length");
                for (int i = 0; i < got.length; i++) {
                    // torch_ref's table is rotate-half; interleaved channels 2k, 2k+1 hold its column k
                    int p = i / dim;
                    int from = layout == RopeLayout.ROTATE_HALF ? i : p * dim + i % dim / 2;
                    double w = want.get(from).asDouble();
                    if (Double.doubleToLongBits(w) != Double.doubleToLongBits(got[i])) {
                        fail(layout + " " + which + " at position " + p + ", channel " + i % dim + ": torch " + w
                            + ", spindle " + got[i]);
                    }
                }
            }
        }
    }

    @Test
    void laterPositionsEqualTheRowsOfALongerSequence() {
        Rope rope = new Rope(6, 500000, 20, RopeLayout.ROTATE_HALF, DataType.DOUBLE);
        INDArray x = random(3, 2, 3, 12, 6);
        INDArray full = rope.apply(Tensor.of(x), 0).value();
        INDArray tail = x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(9, 12), NDArrayIndex.all());
        INDArray late = rope.apply(Tensor.of(tail.dup()), 9).value();
        INDArray want = full.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(9, 12), NDArrayIndex.all());
        assertTrue(want.equalsWithEps(late, 1e-15), "decode positions 9..11 differ from the full sequence's");
    }

    @ParameterizedTest
    @EnumSource(RopeLayout.class)
    void gradientMatchesCentralDifferences(RopeLayout layout) {
        Rope rope = new Rope(4, 10000, 16, layout, DataType.DOUBLE);
        GradCase.of(in -> rope.apply(in[0], 5), GradCase.shape(2, 3, 4, 4)).assertMatches(new SplittableRandom(3));
    }

    @Test
    void positionsBeyondTheTableNameMaxPositionEmbeddings() {
        Rope rope = new Rope(4, 10000, 8, RopeLayout.ROTATE_HALF, DataType.DOUBLE);
        Tensor x = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 1, 3, 4));
        expect("max_position_embeddings is 8", () -> rope.apply(x, 6));
        expect("[..., T, 4]", () -> rope.apply(Tensor.of(Nd4j.zeros(DataType.DOUBLE, 1, 1, 3, 6)), 0));
        expect("built for DOUBLE", () -> rope.apply(Tensor.of(Nd4j.zeros(DataType.FLOAT, 1, 1, 3, 4)), 0));
        expect("must be even", () -> new Rope(5, 10000, 8, RopeLayout.ROTATE_HALF, DataType.DOUBLE));
        expect("rope_theta", () -> new Rope(4, 0, 8, RopeLayout.ROTATE_HALF, DataType.DOUBLE));
        expect("max_position_embeddings must be positive", () -> new Rope(4, 1e4, 0, RopeLayout.ROTATE_HALF, DataType.DOUBLE));
    }

    static void expect(String fragment, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    static INDArray random(long seed, long... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        INDArray v = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < v.length(); i++) {
            v.putScalar(i, rng.nextDouble(-1, 1));
        }
        return v;
    }

    /** shared/bench, the folder of torch_ref.py, in the working directory or a parent; else skips (or fails). */
    public static Path torchRefDir() {
        Path found = null;
        for (Path p = Path.of("").toAbsolutePath(); found == null && p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("shared/bench/torch_ref.py"))) {
                found = p.resolve("shared/bench");
            }
        }
        Optional<String> why = PyTorch.unavailable(found != null ? null
            : "shared/bench/torch_ref.py not found above " + Path.of("").toAbsolutePath());
        assumeTrue(why.isEmpty(), () -> "PyTorch reference skipped: " + why.orElseThrow());
        return found;
    }
}
