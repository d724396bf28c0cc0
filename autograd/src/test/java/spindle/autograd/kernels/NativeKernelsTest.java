// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.testing.NativeRequirement;

/**
 * The native library loads from the module's classes, switches off for a scope, and takes only float32 arrays whose
 * values lie one after the other; a view of consecutive rows is addressed at its first row.
 */
class NativeKernelsTest {
    @Test
    void theLibraryLoadsAndSwitchesOffForAScope() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        assertTrue(NativeKernels.enabled());
        assertNull(NativeKernels.whyNot());
        try (SmallKernels.Scope off = NativeKernels.off()) {
            assertFalse(NativeKernels.enabled());
            assertNotNull(NativeKernels.whyNot());
        }
        assertTrue(NativeKernels.enabled());
    }

    @Test
    void onlyDenseFloat32ArraysAtTheirBuffersStartAreTaken() {
        INDArray a = Nd4j.rand(DataType.FLOAT, 4, 6);
        assertTrue(NativeKernels.denseFloats(a));
        assertTrue(NativeKernels.denseFloats(a.reshape(6, 4)));
        assertFalse(NativeKernels.denseFloats(a.transpose()), "a transposed view");
        assertTrue(NativeKernels.denseFloats(a.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all())), "rows 1-2");
        assertFalse(NativeKernels.denseFloats(a.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 3))), "columns 1-2");
        assertFalse(NativeKernels.denseFloats(Nd4j.rand(DataType.DOUBLE, 4, 6)), "float64");
        assertFalse(NativeKernels.denseFloats(a.dup('f')), "f order");
        assertTrue(NativeKernels.denseFloats(Nd4j.createUninitialized(DataType.FLOAT, 8, 1, 256, 64)),
            "a fresh array with a dim of size 1 (ND4J's strides [16384, 16384, 64, 1])");
        assertFalse(NativeKernels.denseFloats(Nd4j.rand(DataType.FLOAT, 8, 1, 256, 80).get(NDArrayIndex.all(),
            NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 64))), "rows 80 apart");
    }

    @Test
    void aViewOfConsecutiveRowsIsAddressedAtItsFirstRow() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        INDArray table = Nd4j.zeros(DataType.FLOAT, 5, 3);
        INDArray rowsOneToThree = table.get(NDArrayIndex.interval(1, 4), NDArrayIndex.all());
        INDArray rows = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}});
        INDArray index = Nd4j.createFromArray(2L, 0L);   // into rows 3 and 1 of the table
        NativeScatter.addRows(rowsOneToThree, index, rows);
        assertArrayEquals(new float[] {0, 0, 0, 4, 5, 6, 0, 0, 0, 1, 2, 3, 0, 0, 0}, table.data().asFloat());
    }

    @Test
    void scatteringRowsAddsInIndexOrderAndRefusesAnIndexOutOfRange() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        INDArray target = Nd4j.rand(DataType.FLOAT, 7, 5);
        INDArray rows = Nd4j.rand(DataType.FLOAT, 9, 5).subi(0.5);
        int[] ids = {3, 0, 3, 6, 3, 1, 0, 2, 3};
        float[] want = target.data().asFloat();
        for (int k = 0; k < ids.length; k++) {
            for (int j = 0; j < 5; j++) {
                want[ids[k] * 5 + j] += rows.getFloat(k, j);
            }
        }
        assertTrue(NativeScatter.fits(target, Nd4j.createFromArray(ids), rows));
        NativeScatter.addRows(target, Nd4j.createFromArray(ids), rows);
        assertArrayEquals(want, target.data().asFloat());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> NativeScatter.addRows(target, Nd4j.createFromArray(1, 7, 0, 0, 0, 0, 0, 0, 0), rows));
        assertTrue(e.getMessage().contains("index[1]"), e.getMessage());
    }
}
