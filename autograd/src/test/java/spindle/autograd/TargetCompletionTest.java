// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.mul;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.Reductions;

/**
 * backwardInto tells each leaf once, as soon as its gradient is final: a data-parallel trainer sends a gradient
 * bucket at that moment while backward goes on, so a leaf told early with a gradient still to come would be summed
 * over the processes without its last part.
 */
class TargetCompletionTest {

    @Test
    void eachLeafIsToldOnceWithItsFinalGradientAndTheLastLayerFirst() {
        // a "tied" weight w is used by the first op and the last one, like a tied embedding and lm head
        Tensor w = leaf(0.5, -1.5);
        Tensor first = leaf(1, 2);
        Tensor last = leaf(3, -4);
        Tensor unused = leaf(7, 7);
        Tensor h = Activations.tanh(mul(first, w));
        h = Activations.tanh(add(h, first));
        Tensor out = Reductions.sum(mul(mul(h, last), w));
        List<Tensor> leaves = List.of(w, first, last, unused);
        List<INDArray> targets = new ArrayList<>();
        for (Tensor t : leaves) {
            targets.add(Nd4j.zeros(DataType.DOUBLE, 2));
        }
        Map<Integer, double[]> whenTold = new LinkedHashMap<>();
        Autograd.backwardInto(out, null, leaves, targets, i -> {
            if (whenTold.put(i, targets.get(i).toDoubleVector()) != null) {
                throw new AssertionError("leaf " + i + " told twice");
            }
        });
        assertEquals(List.of(2, 1, 0, 3), List.copyOf(whenTold.keySet()),
            "the last layer's leaf first, the tied weight after its first use's backward, the unused one at the end");
        for (int i = 0; i < leaves.size(); i++) {
            assertArrayEquals(targets.get(i).toDoubleVector(), whenTold.get(i), 0, "leaf " + i + " was final when told");
        }
    }

    private static Tensor leaf(double... v) {
        return Tensor.of(Nd4j.createFromArray(v)).requiresGrad(true);
    }
}
