// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import spindle.testing.NativeRequirement;

/** The native library loads from the module's classes, switches off for a scope, and takes only dense float32 arrays. */
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
        assertFalse(NativeKernels.denseFloats(a.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all())), "rows 1-2");
        assertFalse(NativeKernels.denseFloats(Nd4j.rand(DataType.DOUBLE, 4, 6)), "float64");
        assertFalse(NativeKernels.denseFloats(a.dup('f')), "f order");
    }
}
