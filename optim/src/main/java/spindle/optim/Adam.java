// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Tensor;

/**
 * Adam with PyTorch's exact rule (torch.optim.Adam): g = grad + wd * p; m = b1 m + (1 - b1) g;
 * v = b2 v + (1 - b2) g^2 (with amsgrad v_max = max(v_max, v) is used below); at step t,
 * p -= lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
 * Note eps is added to the bias-corrected root, not inside it.
 */
public final class Adam extends Optimizer {

    /** Adam over {@code groups}; options a group does not override come from {@code defaults}. */
    public Adam(List<ParamGroup> groups, AdamOptions defaults) {
        super("Adam", groups, defaults);
    }

    /** Adam over one group holding {@code named}. */
    public Adam(Map<String, Tensor> named, AdamOptions options) {
        this(List.of(ParamGroup.of(named)), options);
    }

    @Override
    protected void update(Tensor param, INDArray grad, ParamState state, OptimizerOptions options) {
        adamUpdate(this, param, grad, state, (AdamOptions) options);
    }

    /**
     * The Adam rule for one parameter in 12 in-place ND4J calls (PyTorch's addcmul_ and addcdiv_ take two
     * each), in the order and rounding of PyTorch's single-tensor loop: scalars in double, cast to the
     * parameter's dtype where they meet a tensor.
     */
    static void adamUpdate(Optimizer opt, Tensor param, INDArray grad, ParamState state, AdamOptions o) {
        INDArray w = param.value();
        INDArray a = opt.scratch(0, w);
        INDArray b = opt.scratch(1, w);
        INDArray g = o.weightDecay() == 0 ? grad : InPlace.axpy(o.weightDecay(), w, a.assign(grad));
        INDArray m = state.bufferOrZeros("exp_avg", w);
        INDArray v = state.bufferOrZeros("exp_avg_sq", w);
        InPlace.axpy(1 - o.beta1(), g, m.muli(o.beta1()));
        v.muli(o.beta2()).addi(g.mul(1 - o.beta2(), b).muli(g));
        if (o.amsgrad()) {
            v = Transforms.max(state.bufferOrZeros("max_exp_avg_sq", w), v, false);
        }
        // StrictMath gives the same bits on every JVM, so a run resumed on another machine continues exactly.
        long t = state.step();
        double stepSize = o.lr() / (1 - StrictMath.pow(o.beta1(), t));
        double bc2Sqrt = StrictMath.sqrt(1 - StrictMath.pow(o.beta2(), t));
        INDArray denom = InPlace.sqrt(v, b).divi(bc2Sqrt).addi(o.eps());
        INDArray delta = m.mul(-stepSize, a).divi(denom);
        param.mutate(x -> x.addi(delta));
    }
}
