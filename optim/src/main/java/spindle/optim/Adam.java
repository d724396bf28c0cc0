// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.updaters.AdamUpdater;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Tensor;

/**
 * Adam and AdamW with PyTorch's exact rules (torch.optim.Adam, torch.optim.AdamW); the options' decay mode
 * picks which ({@link AdamOptions#adam()}, {@link AdamOptions#adamW()}). Adam: g = grad + wd * p; AdamW:
 * p *= 1 - lr * wd first, then g = grad. Then m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2 (with amsgrad
 * v_max = max(v_max, v) is used below); at step t, p -= lr * m_hat / (sqrt(v_hat) + eps) with
 * m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
 * Note eps is added to the bias-corrected root, not inside it.
 */
public final class Adam extends Optimizer {

    /**
     * Adam over {@code groups}; options a group does not override come from {@code defaults}, whose decay mode
     * holds for every group and names the optimizer ("Adam" or "AdamW") in errors and checkpoints.
     */
    public Adam(List<ParamGroup> groups, AdamOptions defaults) {
        super(defaults.decay().kind(), groups, defaults);
    }

    /** Adam (or AdamW, as {@code options} say) over one group holding {@code named}. */
    public Adam(Map<String, Tensor> named, AdamOptions options) {
        this(List.of(ParamGroup.of(named)), options);
    }

    /** PyTorch's Adam state: both moments, and the running maximum of the second with amsgrad. */
    @Override
    protected Set<String> stateKeys(OptimizerOptions options) {
        return ((AdamOptions) options).amsgrad() ? Set.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
            : Set.of("exp_avg", "exp_avg_sq");
    }

    @Override
    protected void update(Tensor param, INDArray grad, ParamState state, OptimizerOptions options) {
        AdamOptions o = (AdamOptions) options;
        if (SmallUpdates.adam(param, grad, state, o, state.step())) {
            return;
        }
        if (o.decay() == AdamOptions.Decay.DECOUPLED && o.weightDecay() != 0) {
            double keep = 1 - o.lr() * o.weightDecay();
            param.mutate(v -> v.muli(keep));
        }
        adamUpdate(param, grad, state, o, o.decay() == AdamOptions.Decay.L2 ? o.weightDecay() : 0);
    }

    /**
     * The Adam rule for one parameter too large for the Java loop of {@link SmallUpdates}. Without amsgrad it is
     * one native call (libnd4j's adam_updater: both moments and the update in one pass) and the subtraction; that op adds eps to sqrt(v) before the bias
     * correction, so it gets eps·sqrt(1 - b2^t), which makes its update PyTorch's up to rounding. With amsgrad it
     * is 12 in-place ND4J calls in the order and rounding of PyTorch's single-tensor loop: scalars in double,
     * cast to the parameter's dtype where they meet a tensor. {@code l2} is the L2 weight decay (0 for AdamW).
     */
    private void adamUpdate(Tensor param, INDArray grad, ParamState state, AdamOptions o, double l2) {
        INDArray w = param.value();
        INDArray a = scratch(0, w);
        INDArray b = scratch(1, w);
        INDArray g = l2 == 0 ? grad : InPlace.axpy(l2, w, a.assign(grad));
        INDArray m = state.bufferOrZeros("exp_avg", w);
        INDArray v = state.bufferOrZeros("exp_avg_sq", w);
        // StrictMath gives the same bits on every JVM, so a run resumed on another machine continues exactly.
        long t = state.step();
        double bc2Sqrt = StrictMath.sqrt(1 - StrictMath.pow(o.beta2(), t));
        if (!o.amsgrad()) {
            INDArray step = l2 == 0 ? a : b;
            Nd4j.exec(new AdamUpdater(g, v, m, step, v, m, o.lr(), o.beta1(), o.beta2(), o.eps() * bc2Sqrt,
                (int) (t - 1)));
            if (o.lr() != 0) {   // at lr 0 the op would step by its eps fallback, PyTorch by nothing
                param.mutate(x -> x.subi(step));
            }
            return;
        }
        InPlace.axpy(1 - o.beta1(), g, m.muli(o.beta1()));
        v.muli(o.beta2()).addi(g.mul(1 - o.beta2(), b).muli(g));
        v = Transforms.max(state.bufferOrZeros("max_exp_avg_sq", w), v, false);
        double stepSize = o.lr() / (1 - StrictMath.pow(o.beta1(), t));
        INDArray denom = InPlace.sqrt(v, b).divi(bc2Sqrt).addi(o.eps());
        INDArray delta = m.mul(-stepSize, a).divi(denom);
        param.mutate(x -> x.addi(delta));
    }
}
