// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class IntegerElementsTest {
    private static INDArray ids() {
        return Nd4j.arange(0, 32).castTo(DataType.LONG).reshape(4, 8);   // rows of 0..7, 8..15, 16..23, 24..31
    }

    @Test
    void denseArraysAreReadInPlace() {
        assertTrue(IntegerElements.allInRange(ids(), 0, 32));
        assertFalse(IntegerElements.allInRange(ids(), 0, 31));
        assertEquals(31, IntegerElements.countNot(ids(), 5));
    }

    @Test
    void viewsAtAnOffsetReadTheirOwnElements() {
        INDArray lastRows = ids().get(NDArrayIndex.interval(2, 4), NDArrayIndex.all());   // 16..31, offset 16
        assertTrue(IntegerElements.allInRange(lastRows, 16, 32));
        assertFalse(IntegerElements.allInRange(lastRows, 17, 32));
        assertEquals(15, IntegerElements.countNot(lastRows, 16));
        INDArray middle = ids().get(NDArrayIndex.interval(1, 2), NDArrayIndex.interval(2, 6));   // 10..13
        assertTrue(IntegerElements.allInRange(middle, 10, 14));
        assertEquals(3, IntegerElements.countNot(middle, 12));
    }

    @Test
    void stridedViewsReadTheirOwnElements() {
        INDArray column = ids().get(NDArrayIndex.all(), NDArrayIndex.point(3));   // 3, 11, 19, 27
        assertTrue(IntegerElements.allInRange(column, 3, 28));
        assertFalse(IntegerElements.allInRange(column, 4, 28));
        assertEquals(3, IntegerElements.countNot(column, 19));
    }
}
