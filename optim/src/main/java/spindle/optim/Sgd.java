// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;

/**
 * Stochastic gradient descent with PyTorch's exact rule (torch.optim.SGD): d = g + wd * p; with momentum
 * mu, buf = d on the first step and buf = mu * buf + (1 - dampening) * d after; d = d + mu * buf
 * (Nesterov) or d = buf; p -= lr * d.
 */
public final class Sgd extends Optimizer {

    /** SGD over {@code groups}; options a group does not override come from {@code defaults}. */
    public Sgd(List<ParamGroup> groups, SgdOptions defaults) {
        super("SGD", groups, defaults);
    }

    /** SGD over one group holding {@code named}. */
    public Sgd(Map<String, Tensor> named, SgdOptions options) {
        this(List.of(ParamGroup.of(named)), options);
    }

    @Override
    protected Set<String> stateKeys(OptimizerOptions options) {
        return ((SgdOptions) options).momentum() != 0 ? Set.of("momentum_buffer") : Set.of();
    }

    @Override
    protected void update(Tensor param, INDArray grad, ParamState state, OptimizerOptions options) {
        SgdOptions o = (SgdOptions) options;
        if (SmallUpdates.sgd(param, grad, state, o)) {
            return;
        }
        INDArray w = param.value();
        INDArray d = grad;
        if (o.weightDecay() != 0) {
            d = InPlace.axpy(o.weightDecay(), w, scratch(0, w).assign(grad));
        }
        if (o.momentum() != 0) {
            INDArray buf = state.buffer("momentum_buffer");
            if (buf == null) {
                // PyTorch starts the buffer at d itself, undamped, so the first step is plain SGD.
                buf = state.put("momentum_buffer", d.dup('c'));
            } else {
                InPlace.axpy(1 - o.dampening(), d, buf.muli(o.momentum()));
            }
            if (o.nesterov()) {
                d = InPlace.axpy(o.momentum(), buf, d == grad ? scratch(0, w).assign(grad) : d);
            } else {
                d = buf;
            }
        }
        INDArray delta = d;
        param.mutate(v -> InPlace.axpy(-o.lr(), delta, v));
    }
}
