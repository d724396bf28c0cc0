// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.SmallKernels;

/**
 * out[k] = source[index[k]] along dim 0 (an embedding lookup, the tokens gathered for the experts): rows copied in
 * Java, bulk row by row, for float32 and float64 sources that fill their buffer; else ND4J's gather op, whose fixed
 * cost (some 10-100 us) outweighs copying a few thousand values.
 */
final class RowGather {
    private RowGather() {}

    /** Fills {@code out} [K, ...] (a fresh dense array of source's dtype) with the rows of source picked by index. */
    static void rows(INDArray source, INDArray index, INDArray out) {
        if (!copiesInJava(source, out)) {
            Nd4j.exec(DynamicCustomOp.builder("gather").addInputs(source, index).addOutputs(out).addIntegerArguments(0)
                .build());
            return;
        }
        long[] ids = Dense.longs(index);
        int width = (int) (source.length() / source.size(0));
        int rows = (int) source.size(0);
        for (long id : ids) {
            if (id < 0 || id >= rows) {   // callers check ranges first; never read past the source
                throw new IllegalArgumentException("gather rows: index " + id + " lies outside [0, " + rows + ")");
            }
        }
        if (source.dataType() == DataType.FLOAT) {
            FloatBuffer from = source.data().asNioFloat();
            FloatBuffer to = out.data().asNioFloat();
            for (int k = 0; k < ids.length; k++) {
                to.put(k * width, from, (int) ids[k] * width, width);
            }
        } else {
            DoubleBuffer from = source.data().asNioDouble();
            DoubleBuffer to = out.data().asNioDouble();
            for (int k = 0; k < ids.length; k++) {
                to.put(k * width, from, (int) ids[k] * width, width);
            }
        }
    }

    /**
     * Whole-buffer c-order float32/float64 arrays of one dtype: of any size while the native kernels are on (a bulk
     * copy is as fast as ND4J's at every size), else within the Java kernels' size limit.
     */
    private static boolean copiesInJava(INDArray source, INDArray out) {
        DataType t = source.dataType();
        return (t == DataType.FLOAT || t == DataType.DOUBLE) && out.dataType() == t && source.rank() >= 1
            && source.size(0) > 0 && (NativeKernels.enabled() || SmallKernels.fit(out)) && wholeBuffer(source)
            && wholeBuffer(out);
    }

    private static boolean wholeBuffer(INDArray a) {
        return !a.isView() && a.offset() == 0 && Dense.contiguous(a) && a.data().originalDataBuffer() == null
            && a.data().length() == a.length();
    }
}
