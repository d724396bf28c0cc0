// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.data.HfConfig;
import spindle.layers.Init;
import spindle.layers.lora.LoraConfig;
import spindle.layers.lora.LoraLinear;
import spindle.layers.lora.TargetModules;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * QAT + LoRA models: adapters whose frozen base is fake-quantized, QatLinear elsewhere, the tied head quantized;
 * with B = 0 the model is the QAT model, switched off it is the plain one; only the adapters train.
 */
class QatLoraModelsTest {
    static final HfConfig CONFIG = HfConfig.parse("""
        {"model_type": "llama", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1,
         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
         "max_position_embeddings": 32, "tie_word_embeddings": true}""", "tiny tied llama");
    static final QatConfig QAT = new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 16);

    @Test
    void withZeroBTheModelIsTheQatModelAndSwitchedOffThePlainOne() {
        CausalLm plain = CausalLms.fromHfConfig(CONFIG, DataType.DOUBLE, 5);
        CausalLm qat = QatModels.fromHfConfig(CONFIG, DataType.DOUBLE, QAT).model();
        qat.loadStateDict(plain.stateDict(), true);
        var prepared = QatLoraModels.fromHfConfig(CONFIG, DataType.DOUBLE, QAT,
            LoraConfig.of(4, 8, TargetModules.names("q_proj", "down_proj")), Init.zeros(), new SplittableRandom(1));
        CausalLm model = prepared.adapted().model();
        model.loadStateDict(plain.stateDict(), false);
        Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{1, 7, 3, 9, 2}}));

        assertEquals(qat.forward(ids, null).logits().value(), model.forward(ids, null).logits().value());
        INDArray plainLogits = plain.forward(ids, null).logits().value();
        assertEquals(8, FakeQuantSwitch.setEnabled(model, false), "q (adapter), k, v, o, gate, up, down (adapter), head");
        assertEquals(plainLogits, model.forward(ids, null).logits().value());
        assertEquals(List.of("model.layers.0.mlp.down_proj (in_features 24 not divisible by group_size 16)"),
            prepared.skipped(), "a targeted base the group does not divide stays float");
    }

    @Test
    void onlyTheAdaptersTrainAndTheirBaseIsFakeQuantized() {
        var adapted = QatLoraModels.fromHfConfig(CONFIG, DataType.DOUBLE, QAT, LoraConfig.of(4, 8,
            TargetModules.names("q_proj", "v_proj")), Init.normal(0, 0.02, new SplittableRandom(2)),
            new SplittableRandom(3)).adapted();
        LoraLinear q = adapted.adapters().get("model.layers.0.self_attn.q_proj");
        assertInstanceOf(QatBaseProduct.class, q.product());
        assertInstanceOf(QatLinear.class, adapted.model().namedModules().get("model.layers.0.self_attn.k_proj"));
        assertEquals(java.util.Set.of("model.layers.0.self_attn.q_proj.lora_A.weight",
            "model.layers.0.self_attn.q_proj.lora_B.weight", "model.layers.0.self_attn.v_proj.lora_A.weight",
            "model.layers.0.self_attn.v_proj.lora_B.weight"), adapted.model().trainableParameters().keySet());
    }
}
