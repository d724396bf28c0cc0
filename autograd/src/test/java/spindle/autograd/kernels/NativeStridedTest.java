// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.testing.NativeRequirement;

/**
 * The native strided copy and add against ND4J's assign and addi, bit for bit, into narrowed windows of every dim of
 * a 4-D array (the elements around each window untouched), from dense and from permuted parts.
 */
class NativeStridedTest {
    @Test
    void windowsGetThePartCopiedOrAddedAsNd4jDoes() {
        Optional<String> skip = NativeRequirement.unavailable(NativeKernels.whyNot());
        assumeTrue(skip.isEmpty(), skip.orElse(""));
        Nd4j.getRandom().setSeed(5);
        long[] shape = {3, 5, 7, 4};
        for (int dim = 0; dim < 4; dim++) {
            for (boolean assign : new boolean[] {true, false}) {
                for (boolean permutedPart : new boolean[] {false, true}) {
                    INDArray base = Nd4j.rand(DataType.FLOAT, shape).subi(0.5);
                    INDArrayIndex[] window = new INDArrayIndex[4];
                    for (int k = 0; k < 4; k++) {
                        window[k] = k == dim ? NDArrayIndex.interval(1, shape[k] - 1) : NDArrayIndex.all();
                    }
                    long[] ws = base.get(window).shape();
                    INDArray part = permutedPart
                        ? Nd4j.rand(DataType.FLOAT, ws[3], ws[2], ws[1], ws[0]).subi(0.5).permute(3, 2, 1, 0)
                        : Nd4j.rand(DataType.FLOAT, ws).subi(0.5);
                    INDArray want = base.dup('c');
                    if (assign) {
                        want.get(window).assign(part);
                    } else {
                        want.get(window).addi(part);
                    }
                    INDArray got = base.dup('c');
                    INDArray target = got.get(window);
                    assertTrue(NativeStrided.fits(target, part), "dim " + dim);
                    NativeStrided.addInto(target, part, assign);
                    assertArrayEquals(want.data().asFloat(), got.data().asFloat(),
                        "dim " + dim + (assign ? " assign" : " add") + (permutedPart ? " from a permuted part" : ""));
                }
            }
        }
    }

    @Test
    void otherDtypesAndShapesAreNotTaken() {
        INDArray a = Nd4j.rand(DataType.FLOAT, 4, 6);
        assertFalse(NativeStrided.fits(a, Nd4j.rand(DataType.FLOAT, 6, 4)), "shapes differ");
        assertFalse(NativeStrided.fits(Nd4j.rand(DataType.DOUBLE, 4, 6), Nd4j.rand(DataType.DOUBLE, 4, 6)), "float64");
    }
}
