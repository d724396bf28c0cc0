// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.RopeLayout;
import spindle.layers.Init;
import spindle.layers.LinearFactory;
import spindle.layers.Rope;

/** Small float64 MLA layers with random weights (norm weights too) and random inputs for the tests. */
final class MlaFixtures {
    /** hidden 12, 2 heads, q_lora_rank 6, kv_lora_rank 5, nope 4, rope 4, v 3. */
    static final MlaDims WITH_Q_LORA = new MlaDims(12, 2, 6, 5, 4, 4, 3, 1e-6);
    /** The same without query compression: a plain q_proj. */
    static final MlaDims PLAIN_Q = new MlaDims(12, 2, 0, 5, 4, 4, 3, 1e-6);
    static final double THETA = 10000.0;
    static final int MAX_POSITIONS = 64;

    private MlaFixtures() {}

    static Rope rope(MlaDims dims, DataType dtype) {
        return new Rope(dims.qkRopeHeadDim(), THETA, MAX_POSITIONS, RopeLayout.ROTATE_HALF, dtype);
    }

    static MultiHeadLatentAttention layer(MlaDims dims, long seed) {
        return layer(dims, seed, DataType.DOUBLE);
    }

    static MultiHeadLatentAttention layer(MlaDims dims, long seed, DataType dtype) {
        SplittableRandom rng = new SplittableRandom(seed);
        var mla = new MultiHeadLatentAttention(dims, rope(dims, dtype),
            LinearFactory.plain(dtype, Init.normal(0, 0.4, rng.split())), dtype);
        // RMSNorm weights start at one; random ones make a mix-up of the two norms visible.
        try (GradMode.Scope off = GradMode.disable()) {
            mla.namedParameters().forEach((name, p) -> {
                if (name.endsWith("layernorm.weight")) {
                    p.mutate(v -> v.assign(Init.uniform(0.5, rng.split()).create(dtype, v.shape()).addi(1.0)));
                }
            });
        }
        return mla;
    }

    /** Uniform [-1, 1] values of the given shape in float64. */
    static Tensor random(long seed, long... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        int n = (int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextDouble(-1, 1);
        }
        return Tensor.of(Nd4j.create(v, shape, DataType.DOUBLE));
    }
}
