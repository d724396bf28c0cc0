// SPDX-License-Identifier: Apache-2.0
package spindle.trainers.mpi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GradientBucketsTest {

    @Test
    void bucketsCoverTheBufferFromItsEndAndSplitAParameterThatDoesNotFit() {
        // parameters of 5, 12 and 3 elements: [0,5) [5,17) [17,20); buckets of 8 from the end
        GradientBuckets b = new GradientBuckets(new long[] {5, 12, 3}, 8);
        assertEquals(3, b.size());
        assertEquals(12, b.from(0));
        assertEquals(8, b.count(0));
        assertEquals(4, b.from(1));
        assertEquals(8, b.count(1));
        assertEquals(0, b.from(2));
        assertEquals(4, b.count(2));
        assertArrayEquals(new int[] {1, 2}, b.parametersOf(0), "the last bucket holds the tail of parameter 1");
        assertArrayEquals(new int[] {0, 1}, b.parametersOf(1));
        assertArrayEquals(new int[] {0}, b.parametersOf(2));
        assertArrayEquals(new int[] {0, 1}, b.bucketsOf(1), "parameter 1 is split over two buckets");
        assertArrayEquals(new int[] {1, 2}, b.bucketsOf(0));
    }

    @Test
    void anEmptyParameterIsInNoBucketAndACapacityBelowOneIsAnError() {
        GradientBuckets b = new GradientBuckets(new long[] {4, 0, 4}, 4);
        assertArrayEquals(new int[0], b.bucketsOf(1));
        assertEquals(2, b.size());
        var e = assertThrows(IllegalArgumentException.class, () -> new GradientBuckets(new long[] {4}, 0));
        assertTrue(e.getMessage().contains("capacity"), e.getMessage());
    }

    @Test
    void aSingleProcessRoundReducesEveryBucketOnceItsParametersAreComplete() {
        INDArray flat = Nd4j.linspace(DataType.FLOAT, 1, 20, 1);
        INDArray before = flat.dup();
        try (BucketAllReduce reduce = new BucketAllReduce(ProcessGroup.single(), flat,
                new GradientBuckets(new long[] {5, 12, 3}, 8))) {
            reduce.begin();
            reduce.completed(2);
            reduce.completed(1);
            reduce.completed(1);   // a repeat is ignored
            reduce.completed(0);
            reduce.await();
            assertEquals(before, flat, "one process: the sum over the ranks is the buffer itself");
            assertEquals(80, reduce.bytesPerRound());
            reduce.begin();
            reduce.completedAll();
            reduce.await();
        }
    }

    @Test
    void mpiThatCannotBeLoadedSaysItIsMissing() {
        var e = assertThrows(IllegalStateException.class,
            () -> Mpi.start(MpiAbi.OPEN_MPI.withLibrary("/nonexistent/libmpi.so.40")));
        assertTrue(e.getMessage().startsWith("MPI is missing: this process was started by mpirun/srun but"
            + " /nonexistent/libmpi.so.40 cannot be loaded (install Open MPI"), e.getMessage());
    }
}
