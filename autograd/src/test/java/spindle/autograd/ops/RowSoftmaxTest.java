// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;

/**
 * Softmax over the last dim on its Java kernel (a router's [tokens, experts] scores) against ND4J's ops: no ND4J op
 * in the forward (2 on ND4J's path), the same values and gradients up to rounding (the kernel computes in float64
 * and rounds once, ND4J's float32 ops round at each step), the row max subtracted ([-1000, -1002] stays finite).
 */
class RowSoftmaxTest {
    @Test
    void javaKernelAgreesWithNd4jWithoutAnOp() {
        TensorFunction f = in -> Softmax.softmax(in[0], -1);
        for (DataType t : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            Tensor x = KernelPaths.input(11, t, 192, 6);
            KernelPaths.Run java = KernelPaths.run(f, Long.MAX_VALUE, x);
            KernelPaths.Run nd4j = KernelPaths.run(f, 0, x);
            assertEquals(0, java.forwardOps(), t + ": ND4J ops of the Java softmax");
            assertTrue(nd4j.forwardOps() > 0, t + ": ND4J's path runs ops");
            KernelPaths.assertPathsAgree(f, t == DataType.FLOAT ? 1e-6 : 1e-14, x);
            KernelPaths.assertPathsAgree(f, t == DataType.FLOAT ? 1e-6 : 1e-14, KernelPaths.input(12, t, 2, 3, 4, 17));
        }
        Tensor far = Tensor.of(Nd4j.createFromArray(-1000.0, -1002.0, 0.5, 0.25).reshape(2, 2));
        KernelPaths.assertPathsAgree(f, 1e-14, far);
    }
}
