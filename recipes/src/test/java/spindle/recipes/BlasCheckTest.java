// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The start-up GEMM check accepts ND4J's products here and rejects wrong ones, NaN and lost float64 precision. */
class BlasCheckTest {
    @Test
    void acceptsTheProductsOfTheBlasInUse() {
        assertEquals(Optional.empty(), BlasCheck.firstWrong(BlasCheck.ND4J));
    }

    @Test
    void rejectsAProductWithOneWrongElement() {
        // a last-bits error in one element of the large float64 product, 1e-9 relative
        String why = wrong((a, b, c, ta, tb, beta) -> {
            BlasCheck.ND4J.multiply(a, b, c, ta, tb, beta);
            if (c.dataType() == DataType.DOUBLE && c.rows() == 256) {
                c.putScalar(200, 100, c.getDouble(200, 100) * (1 + 1e-9));
            }
        });
        assertTrue(why.startsWith("dgemm 256x688x256: element [200, 100] is "), why);
    }

    @Test
    void rejectsNaN() {
        String why = wrong((a, b, c, ta, tb, beta) -> {
            BlasCheck.ND4J.multiply(a, b, c, ta, tb, beta);
            c.putScalar(c.rows() - 1, c.columns() - 1, Double.NaN);
        });
        assertTrue(why.startsWith("sgemm 256x688x256: element [255, 255] is NaN"), why);
    }

    @Test
    void rejectsFloat64ProductsComputedInFloat32() {
        String why = wrong((a, b, c, ta, tb, beta) -> {
            INDArray c32 = c.castTo(DataType.FLOAT);
            BlasCheck.ND4J.multiply(a.castTo(DataType.FLOAT), b.castTo(DataType.FLOAT), c32, ta, tb, beta);
            c.assign(c32.castTo(c.dataType()));
        });
        assertTrue(why.startsWith("dgemm "), why);
    }

    @Test
    void checksTransposesAndAccumulationTheWayTheLayersUseThem() {
        // a product that ignores beta (overwrites instead of adding) is caught by the accumulating case
        String why = wrong((a, b, c, ta, tb, beta) -> BlasCheck.ND4J.multiply(a, b, c, ta, tb, 0.0));
        assertTrue(why.startsWith("sgemm 72x130x96 aT c+=: "), why);
        // one that reads b's memory as if b were not transposed is caught by the forward case
        why = wrong((a, b, c, ta, tb, beta) ->
            BlasCheck.ND4J.multiply(a, tb ? b.dup().reshape(b.columns(), b.rows()) : b, c, ta, false, beta));
        assertTrue(why.startsWith("sgemm 96x200x72 bT: "), why);
    }

    private static String wrong(BlasCheck.Gemm gemm) {
        return BlasCheck.firstWrong(gemm).orElseThrow(() -> new AssertionError("the wrong product was accepted"));
    }
}
