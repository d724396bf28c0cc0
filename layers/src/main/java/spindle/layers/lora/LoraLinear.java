// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Elementwise;
import spindle.autograd.ops.Linalg;
import spindle.layers.Init;
import spindle.layers.Layer;
import spindle.layers.Linear;

/**
 * A frozen linear with a trained low-rank update, as Hugging Face PEFT's LoRA layer. With W [out, in], bias b,
 * A [r, in], B [out, r] and s = {@link LoraOptions#scale()}:
 * <ul>
 *   <li>LoRA and rsLoRA: {@code y = x·Wᵀ + b + s · (x·Aᵀ)·Bᵀ};</li>
 *   <li>DoRA: {@code y = f ⊙ (x·Wᵀ + s · (x·Aᵀ)·Bᵀ) + b} with {@code f = m / n}, m the trained magnitude
 *   [out] and {@code n = ||W + s·B·A||} one L2 norm per output row, detached (no gradient flows through n;
 *   the bias is not scaled).</li>
 * </ul>
 * State names keep the base's ({@code weight}, {@code bias}) so a base checkpoint loads unchanged, and add
 * PEFT's {@code lora_A.weight}, {@code lora_B.weight} and, for DoRA, {@code lora_magnitude_vector}. The base
 * weight and bias share the wrapped linear's arrays and are frozen: backward skips their gradient products.
 */
public final class LoraLinear extends Layer {
    private final LoraOptions options;
    private final Tensor weight;
    private final Tensor bias;
    private final Linear loraA;
    private final Linear loraB;
    private final Tensor magnitude;
    /** While merged: the detached DoRA row norm n the merge divided by (unmerge multiplies it back). */
    private INDArray mergedNorm;
    private boolean merged;

    /**
     * Wraps {@code base} (its arrays are shared, not copied). A starts as kaiming-uniform with a = sqrt(5),
     * U(-1/sqrt(in), 1/sqrt(in)), drawn from {@code rng}; B starts at zero, so the output starts as the base's;
     * the DoRA magnitude starts as the row norms of W.
     */
    public LoraLinear(Linear base, LoraOptions options, SplittableRandom rng) {
        if (base == null || options == null || rng == null) {
            throw new IllegalArgumentException("LoraLinear needs a base linear, options and a random generator");
        }
        this.options = options;
        INDArray w = base.weight().value();
        long out = w.size(0);
        long in = w.size(1);
        weight = param("weight", w).requiresGrad(false);
        bias = base.bias() == null ? null : param("bias", base.bias().value()).requiresGrad(false);
        loraA = child("lora_A", new Linear((int) in, options.r(), false, w.dataType(), Init.linearDefault(in, rng)));
        loraB = child("lora_B", new Linear(options.r(), (int) out, false, w.dataType(), Init.zeros()));
        magnitude = options.dora() ? param("lora_magnitude_vector", LoraMath.rowNorms(w)) : null;
    }

    /** x [..., in] → [..., out]; after {@link #merge()} just the (merged) base linear. */
    @Override
    public Tensor forward(Tensor x) {
        if (merged || !options.dora()) {
            return forwardLora(x);
        }
        return forward(x, weightNorm());   // backward reads the norm: it must outlive this call
    }

    /**
     * DoRA's forward with the row norm n given, held constant: {@link #forward(Tensor)} passes
     * {@link #weightNorm()}; a gradient check passes a fixed n to difference the same function backward sees.
     */
    public Tensor forward(Tensor x, INDArray rowNorm) {
        if (!options.dora()) {
            throw new IllegalStateException("LoraLinear: a row norm is only used by DoRA; this adapter is plain LoRA");
        }
        if (merged) {
            throw new IllegalStateException("LoraLinear: the DoRA adapter is merged into W; call forward(x)");
        }
        Tensor factor = Elementwise.div(magnitude, Tensor.of(rowNorm));
        Tensor direction = Elementwise.add(Linalg.linear(x, weight, null), update(x));
        Tensor y = Elementwise.mul(direction, factor);
        return bias == null ? y : Elementwise.add(y, bias);
    }

    /** DoRA's n = ||W + s·B·A|| per output row [out], computed outside the graph (detached). */
    public INDArray weightNorm() {
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray adapted = delta().addi(weight.value());
            INDArray n = LoraMath.rowNorms(adapted);
            adapted.close();
            return n;
        }
    }

    /** Folds the update into W: LoRA W += s·B·A; DoRA W = (m / n)·(W + s·B·A), keeping n for unmerge. */
    public void merge() {
        mergeChecked(null);
    }

    /** As {@link #merge()}, but refuses (W unchanged) when the merged weight has a NaN or an infinity. */
    public void safeMerge(String moduleName) {
        mergeChecked(moduleName == null ? "(unnamed module)" : moduleName);
    }

    /** The exact inverse of the merge: LoRA W -= s·B·A; DoRA W = W·(n / m) - s·B·A. */
    public void unmerge() {
        if (!merged) {
            throw new IllegalStateException("LoraLinear: unmerge without a merge");
        }
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray d = delta();
            weight.mutate(w -> {
                if (options.dora()) {
                    w.muliColumnVector(mergedNorm.div(magnitude.value()).reshape(-1, 1));
                }
                w.subi(d);
            });
            d.close();
        }
        mergedNorm = null;
        merged = false;
    }

    public boolean isMerged() {
        return merged;
    }

    public LoraOptions options() {
        return options;
    }

    public Tensor weight() {
        return weight;
    }

    /** The base bias, or null. */
    public Tensor bias() {
        return bias;
    }

    public Linear loraA() {
        return loraA;
    }

    public Linear loraB() {
        return loraB;
    }

    /** DoRA's magnitude m [out], or null for plain LoRA. */
    public Tensor magnitude() {
        return magnitude;
    }

    private Tensor forwardLora(Tensor x) {
        Tensor base = Linalg.linear(x, weight, bias);
        return merged ? base : Elementwise.add(base, update(x));
    }

    /** s · (x·Aᵀ)·Bᵀ, in the graph. */
    private Tensor update(Tensor x) {
        return Elementwise.mulScalar(loraB.forward(loraA.forward(x)), options.scale());
    }

    /** s·B·A [out, in], outside the graph. */
    private INDArray delta() {
        return loraB.weight().value().mmul(loraA.weight().value()).muli(options.scale());
    }

    /** A null name merges unchecked; a name makes the merge refuse a non-finite result, naming the module. */
    private void mergeChecked(String moduleName) {
        if (merged) {
            throw new IllegalStateException("LoraLinear: the adapter is already merged");
        }
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray mergedWeight = delta().addi(weight.value());
            INDArray norm = null;
            if (options.dora()) {
                norm = LoraMath.rowNorms(mergedWeight);
                mergedWeight.muliColumnVector(magnitude.value().div(norm).reshape(-1, 1));
            }
            if (moduleName != null && !LoraMath.allFinite(mergedWeight)) {
                throw new IllegalStateException("LoRA merge of " + moduleName + " gives non-finite weights (NaN or"
                    + " infinity); the adapter is broken, the weight was left unmerged");
            }
            weight.mutate(w -> w.assign(mergedWeight));
            mergedWeight.close();
            mergedNorm = norm;
        }
        merged = true;
    }
}
