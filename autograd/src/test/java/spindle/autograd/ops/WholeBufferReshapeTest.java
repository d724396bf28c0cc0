// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.autograd.Tensor;

/** Reshape shares the DataBuffer of an array that fills it (no second DataBuffer), and still behaves as a view. */
class WholeBufferReshapeTest {

    @Test
    void reshapeOfAWholeBufferArraySharesItsDataBufferAndWritesThrough() {
        Tensor x = Tensor.of(Nd4j.rand(DataType.FLOAT, 4, 6));
        Tensor y = Shapes.reshape(x, 2, 3, 4);
        assertSame(x.value().data(), y.value().data(), "one DataBuffer for both");
        assertArrayEquals(new long[] {2, 3, 4}, y.shape());
        assertEquals(x.value().reshape('c', 2, 3, 4), y.value());
        y.value().putScalar(new long[] {1, 2, 3}, 42f);
        assertEquals(42f, x.value().getFloat(3, 5), "a write through the reshape is seen by x");
    }

    @Test
    void reshapeCreatesOnlyItsShapeDescriptor() {
        INDArray a = Nd4j.rand(DataType.FLOAT, 8, 16);
        long before = Nd4j.getDeallocatorService().nextValue();
        WholeBufferReshape.reshape(a, new long[] {128});
        long ids = Nd4j.getDeallocatorService().nextValue() - before - 1;
        assertEquals(1, ids, "deallocator ids taken by one reshape (ND4J's view takes 2)");
    }

    @Test
    void viewsAndOtherOrdersGoThroughNd4jWithTheSameValues() {
        INDArray base = Nd4j.rand(DataType.DOUBLE, 6, 4);
        INDArray rows = base.get(NDArrayIndex.interval(2, 5), NDArrayIndex.all());   // offset 8: a view
        assertEquals(rows.reshape('c', new long[] {12}), WholeBufferReshape.reshape(rows, new long[] {12}));
        INDArray transposed = base.transpose();
        assertEquals(transposed.reshape('c', new long[] {24}), WholeBufferReshape.reshape(transposed, new long[] {24}));
        INDArray fOrder = base.dup('f');
        assertEquals(fOrder.reshape('c', 3, 8), WholeBufferReshape.reshape(fOrder, new long[] {3, 8}));
    }
}
