// SPDX-License-Identifier: Apache-2.0
package spindle.layers.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.LinearFactory;

/**
 * Cache sizes per token for the tiny-deepseek benchmark config (the bench's tiny-deepseek.json:
 * hidden 256, 8 heads, q_lora_rank 96, kv_lora_rank 64, nope 32, rope 16, v 32), worked out by hand.
 */
class MlaCacheSizesTest {
    static final MlaDims TINY_DEEPSEEK = new MlaDims(256, 8, 96, 64, 32, 16, 32, 1e-6);

    @Test
    void tinyDeepSeekCachesPerTokenAndLayer() {
        assertEquals(48, TINY_DEEPSEEK.qkHeadDim());                  // 32 + 16
        assertEquals(80, TINY_DEEPSEEK.cachedPerToken());             // c_kv 64 + k_pe 16
        MlaCacheSizes sizes = MlaCacheSizes.of(TINY_DEEPSEEK, 4);     // tiny-llama's 4 kv heads
        assertEquals(80, sizes.mlaAbsorbed());
        assertEquals(640, sizes.mlaNaive());                          // 8 heads * (48 + 32)
        assertEquals(32, sizes.headDim());                            // 256 / 8
        assertEquals(512, sizes.mha());                               // 2 * 8 * 32
        assertEquals(256, sizes.gqa());                               // 2 * 4 * 32
        assertEquals(0.15625, sizes.absorbedOverMha(), 0);
        assertEquals(0.3125, sizes.absorbedOverGqa(), 0);
        assertEquals(64, MlaCacheSizes.of(TINY_DEEPSEEK, 1).gqa());   // MQA: one K and one V head
        assertTrue(sizes.toString().contains("MLA absorbed 80"), sizes.toString());
    }

    @Test
    void cachesHoldWhatTheyReport() {
        MultiHeadLatentAttention mla = new MultiHeadLatentAttention(TINY_DEEPSEEK,
            MlaFixtures.rope(TINY_DEEPSEEK, DataType.FLOAT), LinearFactory.plain(DataType.FLOAT, Init.normal(0, 0.05, new SplittableRandom(0))), DataType.FLOAT);
        Tensor x = Tensor.of(MlaFixtures.random(1, 2, 5, 256).value().castTo(DataType.FLOAT));
        for (MlaCacheForm form : MlaCacheForm.values()) {
            MlaCache cache = mla.newCache(form);
            try (GradMode.Scope off = GradMode.disable()) {
                mla.forward(x, cache);
            }
            long expected = form == MlaCacheForm.ABSORBED ? 80 : 640;
            assertEquals(expected, cache.numbersPerToken(), form.name());
            assertEquals(2 * 5 * expected, cache.storedNumbers(), form.name());
        }
        assertEquals(MlaCacheForm.ABSORBED, mla.newCache().form());
    }
}
