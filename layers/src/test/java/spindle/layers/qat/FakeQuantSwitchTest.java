// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/** Switched off, a prepared model (tied head included) computes the plain model's logits; switched on, it does not. */
class FakeQuantSwitchTest {
    @Test
    void switchedOffAPreparedTiedModelIsThePlainModel() {
        HfConfig config = HfConfig.parse("""
            {"model_type": "llama", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
             "max_position_embeddings": 32, "tie_word_embeddings": true}""", "tiny tied llama");
        CausalLm plain = CausalLms.fromHfConfig(config, DataType.DOUBLE, 4);
        QatModels.Prepared prepared = QatModels.fromHfConfig(config, DataType.DOUBLE,
            new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 8));
        CausalLm qat = prepared.model();
        qat.loadStateDict(plain.stateDict(), true);
        Tensor ids = Tensor.of(Nd4j.createFromArray(new long[][] {{1, 7, 3, 9, 2}}));
        INDArray want = plain.forward(ids, null).logits().value();

        assertEquals(prepared.quantized().size(), FakeQuantSwitch.setEnabled(qat, false), "every QatLinear and the head");
        assertEquals(want, qat.forward(ids, null).logits().value());
        FakeQuantSwitch.setEnabled(qat, true);
        assertNotEquals(want, qat.forward(ids, null).logits().value());
        for (var m : qat.namedModules().values()) {   // only the head switched off: still not the plain model
            if (m instanceof QatLinear l) {
                l.setFakeQuantEnabled(false);
            }
        }
        assertNotEquals(want, qat.forward(ids, null).logits().value(), "the tied head still fake-quantizes");
    }
}
