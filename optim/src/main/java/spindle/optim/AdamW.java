// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;

/**
 * AdamW with PyTorch's exact rule (torch.optim.AdamW): decoupled weight decay p *= 1 - lr * wd, then the
 * {@link Adam} update without an L2 term (Loshchilov and Hutter, "Decoupled Weight Decay Regularization").
 */
public final class AdamW extends Optimizer {

    /** AdamW over {@code groups}; options a group does not override come from {@code defaults}. */
    public AdamW(List<ParamGroup> groups, AdamWOptions defaults) {
        super("AdamW", groups, defaults);
    }

    /** AdamW over one group holding {@code named}. */
    public AdamW(Map<String, Tensor> named, AdamWOptions options) {
        this(List.of(ParamGroup.of(named)), options);
    }

    @Override
    protected void update(Tensor param, INDArray grad, ParamState state, OptimizerOptions options) {
        AdamWOptions o = (AdamWOptions) options;
        if (o.weightDecay() != 0) {
            double keep = 1 - o.lr() * o.weightDecay();
            param.mutate(v -> v.muli(keep));
        }
        Adam.adamUpdate(this, param, grad, state, o.adamPart());
    }
}
