// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.SmallKernels;

/** Softmax and log-softmax along one dim, each a fused node with a hand-written backward. */
public final class Softmax {
    private Softmax() {}

    /**
     * y = exp(x) / sum(exp(x)) along {@code dim}; d/dx = y * (g - sum(g * y, dim)). Over the last dim of an array the
     * Java kernels take, one Java pass each way ({@link RowSoftmax}).
     */
    public static Tensor softmax(Tensor x, int dim) {
        int d = Reductions.dim("softmax", x, dim);
        if (d == x.rank() - 1 && x.rank() >= 1 && SmallKernels.fit(x.value())) {
            INDArray p = RowSoftmax.forward(x.value());
            return Tape.record("softmax", p, g -> g.add(0, RowSoftmax.backward(g.out(), p)), x);
        }
        // exp of the log-softmax: ND4J's own softmax op returns NaN for rows like [-1000, -1002], its
        // log_softmax subtracts the row max and does not.
        INDArray y = Transforms.exp(logSoftmaxValue(x.value(), d), false);
        return Tape.record("softmax", y, g -> {
            INDArray gy = g.out().mul(y);
            INDArray s = gy.sum(true, d);
            Memory.release(gy);
            g.add(0, g.out().sub(s).muli(y));
            Memory.release(s);
        }, x);
    }

    /** y = x - log(sum(exp(x))) along {@code dim}, computed stably; d/dx = g - exp(y) * sum(g, dim). */
    public static Tensor logSoftmax(Tensor x, int dim) {
        int d = Reductions.dim("logSoftmax", x, dim);
        INDArray y = logSoftmaxValue(x.value(), d);
        return Tape.record("log_softmax", y, g -> {
            INDArray s = g.out().sum(true, d);
            g.add(0, Transforms.exp(y, true).muli(s).rsubi(g.out()));
            Memory.release(s);
        }, x);
    }

    /**
     * Softmax over the last dim of {@code x}, written into x itself, which is returned. Every dtype but float64
     * goes through ND4J's softmax op (one pass; it subtracts the row max in float32, which AttentionGradTest
     * checks); float64 through exp of log_softmax, since ND4J's float64 softmax does not subtract the max on
     * short rows (NaN for [-1000, -1002]).
     */
    static INDArray lastDimInPlace(INDArray x) {
        int last = x.rank() - 1;
        if (x.dataType() == DataType.DOUBLE) {
            INDArray y = Transforms.exp(logSoftmaxValue(x, last), false);
            x.assign(y);
            Memory.release(y);
            return x;
        }
        Nd4j.exec(DynamicCustomOp.builder("softmax").addInputs(x).addOutputs(x).addIntegerArguments(last).build());
        return x;
    }

    /**
     * A fresh log-softmax of {@code x} along {@code dim}. The op is called through the builder because the
     * LogSoftMax(INDArray, int) constructor of ND4J 1.0.0-M2.1 drops the dim and always uses the last one.
     */
    static INDArray logSoftmaxValue(INDArray x, int dim) {
        return Nd4j.exec(DynamicCustomOp.builder("log_softmax").addInputs(x).addIntegerArguments(dim).build())[0];
    }
}
