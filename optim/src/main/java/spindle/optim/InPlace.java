// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.floating.Sqrt;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;

/** The fused in-place kernels the update rules are written in. */
final class InPlace {
    private InPlace() {}

    /**
     * y += alpha * x in one pass. ND4J's axpy rounds once per element (a fused multiply-add), as PyTorch's
     * CPU kernel for {@code y.add_(x, alpha=a)} does, so the two agree bit for bit.
     */
    static INDArray axpy(double alpha, INDArray x, INDArray y) {
        Nd4j.getExecutioner().exec(new Axpy(x, y, y, alpha));
        return y;
    }

    /** out = sqrt(x), elementwise, without touching x. */
    static INDArray sqrt(INDArray x, INDArray out) {
        Nd4j.getExecutioner().exec(new Sqrt(x, out));
        return out;
    }
}
