// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.sub;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.ops.Reductions;

/** The tape's contract: accumulation, seeds, scopes, detach, grad(), in-place checks and release. */
class AutogradTest {
    private static Tensor vec(double... v) {
        return Tensor.of(Nd4j.create(v, new long[] {v.length}, DataType.DOUBLE)).requiresGrad(true);
    }


    @Test
    void backwardAccumulatesAcrossCallsUntilZeroGrad() {
        Tensor x = vec(2);
        mul(x, x).backward();
        mul(x, x).backward();
        assertEquals(8.0, x.grad().getDouble(0), 0);   // 2 * (2x) at x = 2
        x.zeroGrad();
        assertNull(x.grad());
        mul(x, x).backward();
        assertEquals(4.0, x.grad().getDouble(0), 0);
    }

    @Test
    void productOfSumsHasTheHandComputedGradient() {
        Tensor x = vec(1, 2, 3);
        Tensor y = vec(4, 5, 6);
        mul(add(x, y), x).backward(Nd4j.ones(DataType.DOUBLE, 3));   // d/dx = 2x + y, d/dy = x
        assertArrayEquals(new double[] {6, 9, 12}, x.grad().toDoubleVector(), 0);
        assertArrayEquals(new double[] {1, 2, 3}, y.grad().toDoubleVector(), 0);
    }

    @Test
    void nonScalarBackwardNeedsASeed() {
        Tensor x = vec(1, 2);
        Tensor y = mul(x, x);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, y::backward);
        assertTrue(e.getMessage().contains("seed"), e.getMessage());
        INDArray wrong = Nd4j.ones(DataType.DOUBLE, 3);
        e = assertThrows(IllegalArgumentException.class, () -> y.backward(wrong));
        assertTrue(e.getMessage().contains("[3]") && e.getMessage().contains("[2]"), e.getMessage());
    }

    @Test
    void noGradScopeRecordsNothingAndRestoresTheMode() {
        Tensor x = vec(3);
        Tensor y;
        try (GradMode.Scope off = GradMode.disable()) {
            y = mul(x, x);
            try (GradMode.Scope on = GradMode.enable()) {
                assertTrue(mul(x, x).requiresGrad());
            }
            assertFalse(GradMode.isEnabled());
        }
        assertTrue(GradMode.isEnabled());
        assertFalse(y.requiresGrad());
        assertTrue(y.isLeaf());
        assertThrows(IllegalStateException.class, y::backward);
    }

    @Test
    void detachCutsTheGraph() {
        Tensor x = vec(3);
        Tensor y = mul(mul(x, x).detach(), x);   // d/dx = x^2 (the detached factor is a constant)
        y.backward();
        assertEquals(9.0, x.grad().getDouble(0), 0);
    }

    @Test
    void gradReturnsGradientsWithoutTouchingDotGrad() {
        Tensor x = vec(1, 2);
        Tensor y = vec(5, 7);
        Tensor unused = vec(1);
        Tensor z = mul(x, y);
        List<INDArray> g = Autograd.grad(List.of(z), List.of(x, unused), List.of(Nd4j.ones(DataType.DOUBLE, 2)), false);
        assertArrayEquals(new double[] {5, 7}, g.get(0).toDoubleVector(), 0);
        assertArrayEquals(new double[] {0}, g.get(1).toDoubleVector(), 0);
        assertNull(x.grad());
        assertNull(y.grad());
    }

    @Test
    void backwardIntoAddsToTheCallersArraysAndLeavesDotGradAlone() {
        Tensor x = vec(1, 2);
        Tensor y = vec(5, 7);
        INDArray buffer = Nd4j.create(new double[] {100, 200, 300, 400}, new long[] {4}, DataType.DOUBLE);
        INDArray xGrad = buffer.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2));
        Tensor z = vec(0, 0);
        boolean[] reached = Autograd.backwardInto(Reductions.sum(mul(mul(x, x), y)), null, List.of(x, z),
            List.of(xGrad, Nd4j.zeros(DataType.DOUBLE, 2)));
        assertArrayEquals(new boolean[] {true, false}, reached, "z is not on the path from the root");
        // d/dx sum(x² y) = 2xy, added onto what the view held; y is not a target, the rest of the buffer is untouched
        assertArrayEquals(new double[] {110, 228, 300, 400}, buffer.toDoubleVector(), 0);
        assertNull(x.grad());
        assertNull(y.grad());
        Autograd.backwardInto(Reductions.sum(mul(x, y)), Nd4j.scalar(0.5), List.of(x), List.of(xGrad));
        assertArrayEquals(new double[] {112.5, 231.5}, xGrad.toDoubleVector(), 0);   // seeded with 0.5
    }

    @Test
    void backwardIntoNamesAWrongTarget() {
        Tensor x = vec(1, 2);
        var shape = assertThrows(IllegalArgumentException.class, () -> Autograd.backwardInto(Reductions.sum(mul(x, x)), null,
            List.of(x), List.of(Nd4j.zeros(DataType.DOUBLE, 3))));
        assertTrue(shape.getMessage().contains("targets[0] is DOUBLE [3] but leaves[0] is DOUBLE [2]"), shape.getMessage());
        Tensor h = mul(x, x);
        var notLeaf = assertThrows(IllegalArgumentException.class, () -> Autograd.backwardInto(Reductions.sum(h), null,
            List.of(h), List.of(Nd4j.zeros(DataType.DOUBLE, 2))));
        assertTrue(notLeaf.getMessage().contains("leaves[0] is the output of an op"), notLeaf.getMessage());
    }

    @Test
    void inPlaceWindowGradientsSumWithOtherConsumers() {
        Tensor x = vec(1, 2, 3, 4, 5);
        Tensor y = mul(x, Tensor.of(Nd4j.scalar(2.0)));
        Tensor[] parts = spindle.autograd.ops.Joins.split(y, 0, 2, 3);
        // d/dy: 3 on the first window, 1 on the second, plus 1 everywhere from sum(y); d/dx = 2 * that
        Tensor loss = add(add(mul(Reductions.sum(parts[0]), Tensor.of(Nd4j.scalar(3.0))), Reductions.sum(parts[1])),
            Reductions.sum(y));
        loss.backward();
        assertArrayEquals(new double[] {8, 8, 4, 4, 4}, x.grad().toDoubleVector(), 0);
        Tensor z = vec(1, 2, 3);
        spindle.autograd.ops.Shapes.narrow(z, 0, 1, 2).backward(Nd4j.create(new double[] {5, 6}, new long[] {2},
            DataType.DOUBLE));
        assertArrayEquals(new double[] {0, 5, 6}, z.grad().toDoubleVector(), 0, "a leaf's window, zeros elsewhere");
    }

    @Test
    void rowGradientsGoStraightIntoABackwardIntoTarget() {
        Tensor table = Tensor.of(Nd4j.create(new double[][] {{1, 2}, {3, 4}, {5, 6}})).requiresGrad(true);
        Tensor ids = Tensor.of(Nd4j.createFromArray(2L, 0L, 2L));
        INDArray buffer = Nd4j.create(new double[] {9, 1, 1, 1, 1, 1, 1}, new long[] {7}, DataType.DOUBLE);
        INDArray target = buffer.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 7)).reshape('c', 3, 2);
        Autograd.backwardInto(Reductions.sum(spindle.autograd.ops.Indexing.embedding(table, ids)), null, List.of(table),
            List.of(target));
        // row 2 is picked twice, row 1 never; the buffer's first element lies outside the target
        assertArrayEquals(new double[] {9, 2, 2, 1, 1, 3, 3}, buffer.toDoubleVector(), 0);
        assertNull(table.grad());
    }

    @Test
    void addToGradCopiesAndAccumulates() {
        Tensor x = vec(1, 2);
        INDArray g = Nd4j.create(new double[] {3, 4}, new long[] {2}, DataType.DOUBLE);
        x.addToGrad(g);
        x.addToGrad(g);
        assertArrayEquals(new double[] {6, 8}, x.grad().toDoubleVector(), 0);
        assertArrayEquals(new double[] {3, 4}, g.toDoubleVector(), 0, "the caller's array is not taken over");
        var e = assertThrows(IllegalArgumentException.class, () -> x.addToGrad(Nd4j.zeros(DataType.FLOAT, 2)));
        assertTrue(e.getMessage().contains("FLOAT [2] but the tensor is DOUBLE [2]"), e.getMessage());
    }

    @Test
    void gradWithRespectToAnIntermediate() {
        Tensor x = vec(2);
        Tensor h = mul(x, x);
        Tensor z = mul(h, x);     // z = h * x, dz/dh = x
        assertEquals(2.0, Autograd.grad(z, h).get(0).getDouble(0), 0);
    }

    @Test
    void inPlaceChangeOfASavedInputFailsAndNamesTheOp() {
        Tensor x = vec(1, 2);
        Tensor y = mul(x, x);
        try (GradMode.Scope off = GradMode.disable()) {
            x.mutate(v -> v.addi(1));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> y.backward(Nd4j.ones(DataType.DOUBLE, 2)));
        assertTrue(e.getMessage().contains("'mul'") && e.getMessage().contains("modified in place"), e.getMessage());
    }

    @Test
    void inPlaceChangeOfAParameterNeedsNoGradMode() {
        Tensor x = vec(1);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> x.mutate(v -> v.addi(1)));
        assertTrue(e.getMessage().contains("GradMode.disable"), e.getMessage());
    }

    @Test
    void secondBackwardThroughAReleasedGraphFails() {
        Tensor x = vec(1);
        Tensor y = mul(x, x);
        y.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("second time"), e.getMessage());
    }

    @Test
    void retainGraphAllowsASecondBackward() {
        Tensor x = vec(3);
        Tensor y = mul(x, x);
        Autograd.backward(y, null, true);
        Autograd.backward(y, null, false);
        assertEquals(12.0, x.grad().getDouble(0), 0);
    }

    @Test
    void intermediatesAreReleasedAfterBackwardUnlessKept() {
        Tensor x = vec(1, 2);
        Tensor h = mul(x, x);
        Tensor kept = add(x, x).keep();
        Tensor z = sub(mul(h, kept), x);
        INDArray hValue = h.value();
        z.backward(Nd4j.ones(DataType.DOUBLE, 2));
        assertTrue(hValue.wasClosed(), "the intermediate's off-heap buffer is freed at backward, not at GC");
        IllegalStateException e = assertThrows(IllegalStateException.class, h::value);
        assertTrue(e.getMessage().contains("'mul'") && e.getMessage().contains("keep()"), e.getMessage());
        assertArrayEquals(new double[] {2, 4}, kept.value().toDoubleVector(), 0);
        assertArrayEquals(new double[] {1, 14}, z.value().toDoubleVector(), 0);   // the root stays readable
        assertArrayEquals(new double[] {1, 2}, x.value().toDoubleVector(), 0);    // leaves are never freed
    }

    @Test
    void requiresGradCannotBeSetOnAnOpOutput() {
        Tensor y = mul(vec(1), vec(2));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> y.requiresGrad(false));
        assertTrue(e.getMessage().contains("detach"), e.getMessage());
    }

    @Test
    void passThroughGradientsIntoIntermediatesAreNotFreedEarly() {
        Tensor x = vec(1, 2);
        Tensor y = vec(3, 4);
        Tensor z = mul(add(mul(x, x), y), y);   // dz/dx = 2xy, dz/dy = x^2 + 2y
        z.backward(Nd4j.ones(DataType.DOUBLE, 2));
        assertArrayEquals(new double[] {6, 16}, x.grad().toDoubleVector(), 0);
        assertArrayEquals(new double[] {7, 12}, y.grad().toDoubleVector(), 0);
    }

    @Test
    void oneIntermediateUsedTwiceThroughAddGetsBothContributions() {
        Tensor x = vec(1, 3);
        Tensor h = mul(x, x);
        Tensor z = mul(add(h, h), add(h, x));   // z = 2h(h + x) = 2x^4 + 2x^3, dz/dx = 8x^3 + 6x^2
        z.backward(Nd4j.ones(DataType.DOUBLE, 2));
        assertArrayEquals(new double[] {14, 270}, x.grad().toDoubleVector(), 0);
    }
}
