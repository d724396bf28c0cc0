// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Tensor;
import spindle.data.Batch;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/** The library's next-token objective: its value by hand, ignored targets (PyTorch's -100 or another index). */
class LanguageModelingTest {
    private static final int VOCAB = 40;

    @Test
    void theLossIsTheMeanNextTokenCrossEntropyOverTheTargetsNotIgnored() {
        CausalLm model = llama();
        long[][] x = {{1, 5, 7, 9, 2, 3}, {4, 4, 8, 1, 0, 6}};
        long[][] y = {{5, 7, -100, 2, 3, -100}, {4, 8, 1, 0, 6, -100}};
        INDArray logits = model.forward(Tensor.of(Nd4j.createFromArray(x)), null).logits().value();
        double sum = 0;
        int counted = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 6; t++) {
                if (y[b][t] != Batch.IGNORE_INDEX) {
                    sum += logSumExp(logits, b, t) - logits.getDouble(b, t, y[b][t]);
                    counted++;
                }
            }
        }
        double loss = new LanguageModeling(model).loss(batch(x, y)).loss().item();
        assertTrue(Math.abs(loss - sum / counted) <= 1e-12, loss + " vs " + sum / counted);
    }

    @Test
    void ignoredTrailingTargetsGiveTheLossAndGradientsOfTheShorterBatch() {
        CausalLm model = llama();
        long[][] x = {{1, 5, 7, 9, 2, 3}, {4, 4, 8, 1, 0, 6}};
        long[][] padded = {{5, 7, 9, 2, -100, -100}, {4, 8, 1, 0, -100, -100}};
        long[][] shortX = {{1, 5, 7, 9}, {4, 4, 8, 1}};
        long[][] shortY = {{5, 7, 9, 2}, {4, 8, 1, 0}};
        var objective = new LanguageModeling(model);
        Tensor masked = objective.loss(batch(x, padded)).loss();
        masked.backward();
        List<INDArray> maskedGrads = grads(model);
        Tensor plain = objective.loss(batch(shortX, shortY)).loss();
        plain.backward();
        List<INDArray> plainGrads = grads(model);
        assertTrue(Math.abs(masked.item() - plain.item()) <= 1e-12, masked.item() + " vs " + plain.item());
        for (int i = 0; i < plainGrads.size(); i++) {
            double err = maskedGrads.get(i).sub(plainGrads.get(i)).norm2Number().doubleValue();
            assertTrue(err <= 1e-12, "parameter " + i + ": gradient differs by " + err);
        }
    }

    @Test
    void anotherIgnoreIndexSkipsItsTargetsAsMinus100Does() {
        CausalLm model = llama();
        long[][] x = {{1, 5, 7, 9}};
        double withZero = new LanguageModeling(model, 0).loss(batch(x, new long[][] {{0, 7, 0, 2}})).loss().item();
        double withDefault = new LanguageModeling(model).loss(batch(x, new long[][] {{-100, 7, -100, 2}})).loss().item();
        assertEquals(withDefault, withZero);
    }

    @Test
    void anMoeModelAddsItsBalanceLossAndLogsIt() {
        CausalLm model = CausalLms.fromHfConfig(HfConfig.parse("""
            {"model_type": "deepseek_v3", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 2, "q_lora_rank": 8, "kv_lora_rank": 8, "qk_nope_head_dim": 4,
             "qk_rope_head_dim": 4, "v_head_dim": 4, "intermediate_size": 24, "moe_intermediate_size": 8,
             "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
             "scoring_func": "softmax", "norm_topk_prob": true, "aux_loss_alpha": 0.01, "seq_aux": false,
             "max_position_embeddings": 32}""", "tiny deepseek"), DataType.DOUBLE, 3);
        Batch b = batch(new long[][] {{1, 5, 7, 9}, {3, 2, 8, 8}}, new long[][] {{5, 7, 9, 2}, {2, 8, 8, 1}});
        var objective = new LanguageModeling(model);
        LanguageModeling.Parts parts = objective.parts(b);
        StepLoss loss = objective.loss(b);
        double balance = parts.balanceLoss().item();
        assertTrue(balance > 0, "balance loss " + balance);
        assertEquals(balance, loss.aux().get(StepLoss.BALANCE_LOSS));
        assertEquals(parts.crossEntropy().item() + balance, loss.loss().item());
    }

    private static CausalLm llama() {
        return CausalLms.fromHfConfig(HfConfig.parse("""
            {"model_type": "llama", "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24,
             "max_position_embeddings": 32}""", "tiny llama"), DataType.DOUBLE, 7);
    }

    private static Batch batch(long[][] inputs, long[][] targets) {
        return new Batch(Nd4j.createFromArray(inputs), Nd4j.createFromArray(targets));
    }

    private static double logSumExp(INDArray logits, int b, int t) {
        INDArray row = logits.get(NDArrayIndex.point(b), NDArrayIndex.point(t), NDArrayIndex.all());
        double max = row.maxNumber().doubleValue();
        double sum = 0;
        for (int v = 0; v < VOCAB; v++) {
            sum += Math.exp(row.getDouble(v) - max);
        }
        return max + Math.log(sum);
    }

    /** Copies of the parameters' gradients, which are then cleared. */
    private static List<INDArray> grads(CausalLm model) {
        List<INDArray> out = new ArrayList<>();
        for (Tensor p : model.namedParameters().values()) {
            out.add(p.grad().dup());
            p.zeroGrad();
        }
        return out;
    }
}
