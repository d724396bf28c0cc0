// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.layers.Init;
import spindle.layers.Linear;
import spindle.layers.SwiGlu;

/** QatLinear keeps plain checkpoint names, can be switched off, and the factory skips what torchao skips. */
class QatLinearTest {
    static final DataType F64 = DataType.DOUBLE;

    @Test
    void keepsThePlainLinearKeysSoACheckpointLoadsBothWays() {
        Linear plain = new Linear(16, 3, true, F64, Init.normal(0, 1, new SplittableRandom(1)));
        QatLinear qat = new QatLinear(16, 3, true, F64, Init.zeros(), QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 8);
        assertEquals(plain.stateDict().keySet(), qat.stateDict().keySet());
        assertTrue(qat.loadStateDict(plain.stateDict(), true).isClean());
        assertEquals(plain.weight().value(), qat.weight().value());
        assertTrue(new Linear(16, 3, true, F64, Init.zeros()).loadStateDict(qat.stateDict(), true).isClean());
    }

    @Test
    void disabledFakeQuantizationIsAPlainLinear() {
        Linear plain = new Linear(16, 3, true, F64, Init.normal(0, 1, new SplittableRandom(2)));
        QatLinear qat = new QatLinear(16, 3, true, F64, Init.zeros(), QatScheme.INT4_WEIGHT_ONLY, 8);
        qat.loadStateDict(plain.stateDict(), true);
        Tensor x = Tensor.of(FakeQuantTorchParityTest.random(3, F64, 2, 16));
        INDArray quantized = qat.forward(x).value().dup();
        qat.setFakeQuantEnabled(false);
        assertEquals(plain.forward(x).value(), qat.forward(x).value());
        assertNotEquals(quantized, qat.forward(x).value(), "fake quantization changes the output when enabled");
    }

    @Test
    void factorySkipsProjectionsWhoseInputSizeTheGroupDoesNotDivide() {
        QatLinearFactory linears = new QatLinearFactory(F64, Init.zeros(), QatScheme.INT8_DYN_ACT_INT4_WEIGHT, 8);
        SwiGlu mlp = new SwiGlu(16, 12, linears);   // gate/up take 16 inputs, down takes 12
        assertEquals(List.of("down_proj (in_features 12 not divisible by group_size 8)"), linears.skipped());
        assertInstanceOf(QatLinear.class, linears.create("q_proj", 16, 4, false));
        QatLinearFactory perChannel = new QatLinearFactory(F64, Init.zeros(), QatScheme.INT8_WEIGHT_ONLY, 8);
        assertInstanceOf(QatLinear.class, perChannel.create("down_proj", 12, 4, false));
        assertEquals(List.of(), perChannel.skipped());
        assertEquals(12, mlp.stateDict().get("down_proj.weight").shape()[1]);
    }

    @Test
    void badArgumentsAreNamed() {
        String msg = assertThrows(IllegalArgumentException.class,
            () -> new QatLinear(12, 3, false, F64, Init.zeros(), QatScheme.INT4_WEIGHT_ONLY, 8)).getMessage();
        assertTrue(msg.contains("group_size 8") && msg.contains("in_features 12") && msg.contains("int4wo"), msg);
        msg = assertThrows(IllegalArgumentException.class, () -> QatScheme.parse("int3")).getMessage();
        assertTrue(msg.contains("qat.scheme") && msg.contains("8da4w"), msg);
        assertEquals(QatScheme.INT4_WEIGHT_ONLY, QatScheme.parse("int4wo"));
    }
}
