// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import spindle.autograd.Tensor;

/**
 * A module with one tensor in and one tensor out (Linear, norms, feed-forwards): what a
 * {@link LinearFactory} returns and what can be stacked or swapped for an adapter.
 */
public abstract class Layer extends Module {
    public abstract Tensor forward(Tensor x);
}
