// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.data.HfConfig;

/** Greedy and sampled generation: the cached decode picks what a full forward would, seeds reproduce. */
class GeneratorTest {
    @Test
    void greedyWithCacheEqualsArgmaxOfFullForwards() {
        for (CausalLm model : new CausalLm[] {
            CausalLms.fromHfConfig(TinyConfigs.llama(false), DataType.DOUBLE, 5),
            CausalLms.fromHfConfig(TinyConfigs.deepseek("12"), DataType.DOUBLE, 5)}) {
            int[] prompt = {1, 2, 3};
            int[] generated = Generator.generate(model, prompt, SamplingOptions.greedy(6));
            assertEquals(9, generated.length);
            int[] expected = Arrays.copyOf(prompt, 9);
            for (int t = 3; t < 9; t++) {
                expected[t] = argmaxOfLast(model, Arrays.copyOf(expected, t));
            }
            assertArrayEquals(expected, generated, model.modelType());
        }
    }

    @Test
    void samplingIsSeededAndStopsAtStopTokens() {
        CausalLm model = CausalLms.fromHfConfig(TinyConfigs.llama(false), DataType.FLOAT, 6);
        SamplingOptions options = SamplingOptions.greedy(12).withTemperature(1.5).withTopK(10).withTopP(0.9).withSeed(42);
        int[] a = Generator.generate(model, new int[] {7}, options);
        int[] b = Generator.generate(model, new int[] {7}, options);
        assertArrayEquals(a, b);
        int stop = a[3];
        int[] stopped = Generator.generate(model, new int[] {7}, options.withStopTokens(Set.of(stop)));
        int firstStop = 1;
        while (a[firstStop] != stop) {
            firstStop++;
        }
        assertArrayEquals(Arrays.copyOf(a, firstStop + 1), stopped);
    }

    @Test
    void samplerFollowsTheDistributionAndItsCuts() {
        double[] logits = {0, Math.log(2), Math.log(3), Double.NEGATIVE_INFINITY};
        int[] counts = new int[4];
        Sampler sampler = new Sampler(SamplingOptions.greedy(1).withTemperature(1).withSeed(1));
        for (int i = 0; i < 60000; i++) {
            counts[sampler.next(logits)]++;
        }
        assertEquals(1 / 6.0, counts[0] / 60000.0, 0.01);
        assertEquals(2 / 6.0, counts[1] / 60000.0, 0.01);
        assertEquals(3 / 6.0, counts[2] / 60000.0, 0.01);
        assertEquals(0, counts[3]);
        Sampler topTwo = new Sampler(SamplingOptions.greedy(1).withTemperature(1).withTopK(2).withSeed(1));
        Sampler nucleus = new Sampler(SamplingOptions.greedy(1).withTemperature(1).withTopP(0.5).withSeed(1));
        for (int i = 0; i < 1000; i++) {
            assertTrue(topTwo.next(logits) >= 1);
            assertEquals(2, nucleus.next(logits), "top_p 0.5 keeps only the token of probability 1/2");
        }
        assertEquals(2, new Sampler(SamplingOptions.greedy(1)).next(logits));
    }

    @Test
    void moreNewTokensThanFitStopAtMaxPositionsWithANotice() {
        CausalLm model = withMaxPositions(8);
        List<String> notices = new ArrayList<>();
        int[] generated = Generator.generate(model, new int[] {1, 2, 3}, SamplingOptions.greedy(20), notices::add);
        assertEquals(8, generated.length, "max_position_embeddings tokens in all");
        assertArrayEquals(Generator.generate(model, new int[] {1, 2, 3}, SamplingOptions.greedy(5), notices::add),
            generated, "the tokens that fit are the ones asked for with max_new_tokens 5");
        assertEquals(List.of("generate: only 5 of max_new_tokens 20 fit: the prompt has 3 tokens and the model's"
            + " max_position_embeddings is 8; stopping there"), notices);
    }

    @Test
    void aPromptThatFillsTheContextIsReturnedAndALongerOneIsRefused() {
        CausalLm model = withMaxPositions(4);
        List<String> notices = new ArrayList<>();
        assertArrayEquals(new int[] {1, 2, 3, 4},
            Generator.generate(model, new int[] {1, 2, 3, 4}, SamplingOptions.greedy(2), notices::add));
        assertEquals(1, notices.size());
        var e = assertThrows(IllegalArgumentException.class,
            () -> Generator.generate(model, new int[] {1, 2, 3, 4, 5}, SamplingOptions.greedy(2), notices::add));
        assertTrue(e.getMessage().contains("the prompt has 5 tokens, more than the model's max_position_embeddings (4)"),
            e.getMessage());
    }

    /** The tiny Llama with a smaller max_position_embeddings. */
    private static CausalLm withMaxPositions(int maxPositions) {
        Map<String, Object> config = new HashMap<>(TinyConfigs.llama(false).asMap());
        config.put("max_position_embeddings", maxPositions);
        String json = new ObjectMapper().valueToTree(config).toString();
        return CausalLms.fromHfConfig(HfConfig.parse(json, "tiny llama"), DataType.DOUBLE, 7);
    }

    @Test
    void badOptionsNameTheKey() {
        var e = assertThrows(IllegalArgumentException.class, () -> SamplingOptions.greedy(1).withTopP(0));
        assertTrue(e.getMessage().contains("top_p"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SamplingOptions.greedy(1).withTemperature(-1));
        assertTrue(e.getMessage().contains("temperature"), e.getMessage());
    }

    private static int argmaxOfLast(CausalLm model, int[] tokens) {
        try (GradMode.Scope off = GradMode.disable()) {
            long[] ids = Arrays.stream(tokens).asLongStream().toArray();
            INDArray logits = model.forward(Tensor.of(Nd4j.createFromArray(ids).reshape(1, ids.length)), null)
                .logits().value();
            return Sampler.argmax(logits.get(NDArrayIndex.point(0), NDArrayIndex.point(tokens.length - 1)).toDoubleVector());
        }
    }
}
