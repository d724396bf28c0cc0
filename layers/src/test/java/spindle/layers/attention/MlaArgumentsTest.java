// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.layers.attention.MlaFixtures.PLAIN_Q;
import static spindle.layers.attention.MlaFixtures.WITH_Q_LORA;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.LinearFactory;

/** Bad sizes, inputs and caches are rejected with messages that name the config key or argument. */
class MlaArgumentsTest {

    @Test
    void dimsNameTheirConfigKeys() {
        expect("hidden_size", () -> new MlaDims(0, 2, 6, 5, 4, 4, 3, 1e-6));
        expect("num_attention_heads", () -> new MlaDims(12, 0, 6, 5, 4, 4, 3, 1e-6));
        expect("q_lora_rank", () -> new MlaDims(12, 2, -1, 5, 4, 4, 3, 1e-6));
        expect("kv_lora_rank", () -> new MlaDims(12, 2, 6, 0, 4, 4, 3, 1e-6));
        expect("qk_nope_head_dim", () -> new MlaDims(12, 2, 6, 5, 0, 4, 3, 1e-6));
        expect("qk_rope_head_dim", () -> new MlaDims(12, 2, 6, 5, 4, 3, 3, 1e-6));
        expect("qk_rope_head_dim", () -> new MlaDims(12, 2, 6, 5, 4, 0, 3, 1e-6));
        expect("v_head_dim", () -> new MlaDims(12, 2, 6, 5, 4, 4, 0, 1e-6));
        expect("rms_norm_eps", () -> new MlaDims(12, 2, 6, 5, 4, 4, 3, 0));
        expect("num_key_value_heads", () -> MlaCacheSizes.of(WITH_Q_LORA, 3));
        expect("num_key_value_heads", () -> MlaCacheSizes.of(WITH_Q_LORA, 0));
    }

    @Test
    void constructorRejectsNullsAndAMismatchedRope() {
        var linears = LinearFactory.plain(DataType.DOUBLE, Init.normal(0, 0.1, new SplittableRandom(0)));
        expect("must not be null", () -> new MultiHeadLatentAttention(null, MlaFixtures.rope(PLAIN_Q, DataType.DOUBLE),
            linears, DataType.DOUBLE));
        expect("must not be null", () -> new MultiHeadLatentAttention(PLAIN_Q, null, linears, DataType.DOUBLE));
        MlaDims wideRope = new MlaDims(12, 2, 0, 5, 4, 8, 3, 1e-6);
        expect("qk_rope_head_dim", () -> new MultiHeadLatentAttention(wideRope,
            MlaFixtures.rope(PLAIN_Q, DataType.DOUBLE), linears, DataType.DOUBLE));
    }

    @Test
    void forwardNamesTheShapeItNeeds() {
        MultiHeadLatentAttention mla = MlaFixtures.layer(WITH_Q_LORA, 1);
        expect("[B, T, 12]", () -> mla.forward(MlaFixtures.random(1, 2, 3, 10), null));
        expect("[2, 3, 10]", () -> mla.forward(MlaFixtures.random(1, 2, 3, 10), null));
        expect("[B, T, 12]", () -> mla.forward(MlaFixtures.random(1, 3, 12), null));
        Tensor floats = Tensor.of(MlaFixtures.random(1, 2, 3, 12).value().castTo(DataType.FLOAT));
        expect("FLOAT", () -> mla.forward(floats, null));
    }

    @Test
    void forwardRejectsForeignCaches() {
        MultiHeadLatentAttention mla = MlaFixtures.layer(WITH_Q_LORA, 1);
        MultiHeadLatentAttention other = MlaFixtures.layer(new MlaDims(12, 2, 6, 7, 4, 4, 3, 1e-6), 1);
        Tensor x = MlaFixtures.random(1, 2, 3, 12);
        expect("newCache()", () -> mla.forward(x, new AttentionCache() {
            public long length() {
                return 0;
            }

            public long numbersPerToken() {
                return 0;
            }

            public void clear() {
            }
        }));
        expect("another layer", () -> mla.forward(x, other.newCache()));
        MlaCache cache = mla.newCache();
        try (GradMode.Scope off = GradMode.disable()) {
            mla.forward(x, cache);
            expect("batch size", () -> mla.forward(MlaFixtures.random(2, 1, 1, 12), cache));
        }
    }

    static void expect(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message should name '" + fragment + "': " + e.getMessage());
    }
}
