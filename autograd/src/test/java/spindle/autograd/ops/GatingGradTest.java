// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static spindle.autograd.GradCase.shape;
import static spindle.autograd.ops.Gating.swiglu;
import static spindle.autograd.ops.NormsGradTest.expect;
import static spindle.autograd.ops.SoftmaxGradTest.assertSameValueAndGradients;
import static spindle.autograd.ops.SoftmaxGradTest.randomInput;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.GradCase;
import spindle.autograd.Tensor;

/** The fused swiglu: gradient check, equality with silu(gate) * up, a closed form, errors. */
class GatingGradTest {

    @Test
    void swigluGradientMatchesCentralDifferences() {
        GradCase.of(in -> swiglu(in[0], in[1]), shape(2, 3, 4), shape(2, 3, 4)).withRange(0, -4, 4)
            .assertMatches(new SplittableRandom(47));
    }

    @Test
    void swigluEqualsSiluTimesUp() {
        assertSameValueAndGradients(in -> swiglu(in[0], in[1]), in -> Elementwise.mul(Activations.silu(in[0]), in[1]),
            1e-12, randomInput(7, 3, 5), randomInput(8, 3, 5));
    }

    @Test
    void swigluOfLnThreeAndTwo() {
        // silu(ln 3) = ln 3 * 3/4
        Tensor y = swiglu(Tensor.of(Nd4j.createFromArray(Math.log(3))), Tensor.of(Nd4j.createFromArray(2.0)));
        assertEquals(Math.log(3) * 0.75 * 2, y.value().getDouble(0), 1e-15);
    }

    @Test
    void mismatchedShapesAndDtypesAreNamed() {
        Tensor a = Tensor.of(Nd4j.zeros(DataType.DOUBLE, 2, 3));
        expect("gate has shape [2, 3] but up has shape [3]", () -> swiglu(a, Tensor.of(Nd4j.zeros(DataType.DOUBLE, 3))));
        expect("gate is DOUBLE but up is FLOAT", () -> swiglu(a, Tensor.of(Nd4j.zeros(DataType.FLOAT, 2, 3))));
    }
}
