// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * convert writes the codes of exactly the modules QAT fake-quantizes, and the converted directory loads into
 * quantized linears whose float32 logits are the fake-quantized model's (within 1e-5): each scheme, a group size
 * that skips the down projections, a tied head, MoE experts.
 */
class QatConvertTest {
    @TempDir
    Path dir;

    static Stream<Named<Object[]>> variants() {
        return Stream.of(
            Named.of("llama 8da4w g8", new Object[] {llama(false), new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 8)}),
            Named.of("llama tied 8da4w g16 (skips down_proj)", new Object[] {llama(true),
                new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 16)}),
            Named.of("llama tied int4wo g8", new Object[] {llama(true), new QatConfig(QatScheme.INT4_WEIGHT_ONLY, 8)}),
            Named.of("llama int8wo", new Object[] {llama(false), new QatConfig(QatScheme.INT8_WEIGHT_ONLY, 32)}),
            Named.of("deepseek moe int4wo g16", new Object[] {deepseek(), new QatConfig(QatScheme.INT4_WEIGHT_ONLY, 16)}),
            Named.of("deepseek moe 8da4w g8", new Object[] {deepseek(), new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 8)}));
    }

    @ParameterizedTest
    @MethodSource("variants")
    void convertedModelGivesTheFakeQuantizedLogits(Object[] variant) {
        HfConfig config = (HfConfig) variant[0];
        QatConfig qat = (QatConfig) variant[1];
        QatModels.Prepared prepared = QatModels.fromHfConfig(config, DataType.FLOAT, qat);
        prepared.model().loadStateDict(CausalLms.fromHfConfig(config, DataType.FLOAT, 5).stateDict(), true);

        QatConvert.Report report = QatConvert.write(prepared.model(), config, qat, dir);
        assertEquals(new TreeSet<>(prepared.quantized()), new TreeSet<>(report.quantized()), "quantized modules");
        assertEquals(prepared.skipped().size(), report.skipped().size(), "skipped modules " + report.skipped());
        assertTrue(report.fileBytes() < report.float32Bytes(), report.toJson());
        System.out.println("QatConvertTest " + qat.scheme().id() + ": " + report.toJson());
        assertTrue(QuantizedModels.isConverted(dir));

        CausalLm converted = QuantizedModels.fromPretrained(dir, DataType.FLOAT);
        List<String> quantizedLinears = converted.namedModules().entrySet().stream()
            .filter(e -> e.getValue() instanceof QuantizedLinear).map(Map.Entry::getKey).toList();
        assertEquals(new TreeSet<>(prepared.quantized()), new TreeSet<>(quantizedLinears), "quantized linears loaded");

        Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{1, 5, 9, 33, 2, 17}, {4, 4, 0, 39, 12, 8}}));
        try (GradMode.Scope off = GradMode.disable()) {
            prepared.model().eval();
            converted.eval();
            INDArray want = prepared.model().forward(ids, null).logits().value();
            INDArray got = converted.forward(ids, null).logits().value();
            double err = want.sub(got).amaxNumber().doubleValue();
            assertTrue(err <= 1e-5, "max |logits - fake-quantized logits| = " + err);
        }
    }

    @Test
    void convertWritesCodesScalesAndZerosAndLeavesTheRestAsItIs() {
        HfConfig config = llama(true);
        QatConfig qat = new QatConfig(QatScheme.INT4_WEIGHT_ONLY, 16);
        CausalLm plain = CausalLms.fromHfConfig(config, DataType.DOUBLE, 2);
        QatConvert.Converted c = QatConvert.convert(plain, qat);
        Map<String, INDArray> t = c.tensors();
        assertEquals(DataType.BYTE, t.get("model.layers.0.self_attn.q_proj.weight").dataType());
        assertArrayEquals(new long[] {32, 2}, t.get("model.layers.0.self_attn.q_proj.scales").shape());
        assertArrayEquals(new long[] {32, 2}, t.get("model.layers.0.self_attn.q_proj.zeros").shape());
        assertEquals(DataType.DOUBLE, t.get("model.layers.0.self_attn.q_proj.scales").dataType());
        // down_proj has 24 inputs, not a multiple of 16: left float, as torchao leaves it
        assertEquals(DataType.DOUBLE, t.get("model.layers.0.mlp.down_proj.weight").dataType());
        assertFalse(t.containsKey("model.layers.0.mlp.down_proj.scales"));
        assertTrue(c.skipped().get(0).startsWith("model.layers.0.mlp.down_proj"), c.skipped().toString());
        // the tied head is quantized from the embedding, which stays float
        assertEquals(DataType.BYTE, t.get("lm_head.weight").dataType());
        assertEquals(plain.model().embedTokens().weight().value(), t.get("model.embed_tokens.weight"));
        assertEquals(plain.stateDict().get("model.norm.weight"), t.get("model.norm.weight"));
        HfConfig written = HfConfig.read(QatConvert.write(plain, config, qat, dir).file().resolveSibling("config.json"));
        assertFalse(written.bool("tie_word_embeddings", true), "a quantized tied head is written untied");
        assertEquals(new QatConfig(QatScheme.INT4_WEIGHT_ONLY, 16), QuantizedModels.scheme(dir.resolve("config.json")));
    }

    static HfConfig llama(boolean tied) {
        return HfConfig.parse("""
            {"model_type": "llama", "vocab_size": 40, "hidden_size": 32, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 32,
             "tie_word_embeddings": %s}""".formatted(tied), "tiny llama");
    }

    static HfConfig deepseek() {
        return HfConfig.parse("""
            {"model_type": "deepseek_v3", "vocab_size": 40, "hidden_size": 32, "num_hidden_layers": 2,
             "num_attention_heads": 2, "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
             "qk_rope_head_dim": 8, "v_head_dim": 8, "intermediate_size": 48, "moe_intermediate_size": 16,
             "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
             "scoring_func": "softmax", "norm_topk_prob": true, "aux_loss_alpha": 0.01, "seq_aux": false,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 32,
             "tie_word_embeddings": false}""", "tiny deepseek");
    }
}
