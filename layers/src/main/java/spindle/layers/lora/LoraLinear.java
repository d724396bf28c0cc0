// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import static spindle.autograd.ops.Elementwise.add;
import static spindle.autograd.ops.Elementwise.addScalar;
import static spindle.autograd.ops.Elementwise.div;
import static spindle.autograd.ops.Elementwise.mul;
import static spindle.autograd.ops.Elementwise.mulScalar;

import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Activations;
import spindle.autograd.ops.LowRank;
import spindle.autograd.ops.Widening;
import spindle.layers.EffectiveWeight;
import spindle.layers.Init;
import spindle.layers.Layer;
import spindle.layers.Linear;

/**
 * A frozen linear with a trained low-rank update, as Hugging Face PEFT's LoRA layer. With W [out, in], bias b,
 * A [r, in], B [out, r], s = {@link LoraOptions#scale()} and x' = dropout(x) (x itself in eval mode or
 * without lora_dropout):
 * <ul>
 *   <li>LoRA and rsLoRA: {@code y = x·Wᵀ + b + s · (x'·Aᵀ)·Bᵀ};</li>
 *   <li>DoRA: {@code y = f ⊙ (x·Wᵀ + s · (x·Aᵀ)·Bᵀ) + b} with {@code f = m / n}, m the trained magnitude
 *   [out] and {@code n = ||W + s·B·A||} one L2 norm per output row, detached (no gradient flows through n;
 *   the bias is not scaled). With dropout active, PEFT's form: {@code x·Wᵀ + b + (f - 1) ⊙ x'·Wᵀ + f ⊙ s ·
 *   (x'·Aᵀ)·Bᵀ}.</li>
 * </ul>
 * The frozen product x·Wᵀ + b is a {@link BaseProduct}, plain by default; a QAT-LoRA linear passes one that
 * fake-quantizes x and W. State names keep the base's ({@code weight}, {@code bias}) so a base checkpoint
 * loads unchanged, and add PEFT's {@code lora_A.weight}, {@code lora_B.weight} and, for DoRA,
 * {@code lora_magnitude_vector}. The base weight and bias share the wrapped linear's arrays and are frozen:
 * backward skips their gradient products.
 */
public final class LoraLinear extends Layer implements EffectiveWeight {
    private final LoraOptions options;
    private final BaseProduct product;
    private final Tensor weight;
    private final Tensor bias;
    private final Linear loraA;
    private final Linear loraB;
    private final Tensor magnitude;
    /** Where dropout masks get their seeds: a generator split off the init's, or the trainer's source. */
    private LongSupplier dropoutSeeds;
    /** While merged: the detached DoRA row norm n the merge divided by (unmerge multiplies it back). */
    private INDArray mergedNorm;
    private boolean merged;

    /** A plain-product adapter; see {@link #LoraLinear(Linear, LoraOptions, SplittableRandom, BaseProduct)}. */
    public LoraLinear(Linear base, LoraOptions options, SplittableRandom rng) {
        this(base, options, rng, BaseProduct.LINEAR);
    }

    /**
     * Wraps {@code base} (its arrays are shared, not copied). A starts as kaiming-uniform with a = sqrt(5),
     * U(-1/sqrt(in), 1/sqrt(in)), drawn from {@code rng}; B starts at zero, so the output starts as the base's;
     * the DoRA magnitude starts as the row norms of W. With lora_dropout, a generator split off {@code rng}
     * seeds the masks until {@link #setDropoutSeeds} names another source.
     */
    public LoraLinear(Linear base, LoraOptions options, SplittableRandom rng, BaseProduct product) {
        if (base == null || options == null || rng == null || product == null) {
            throw new IllegalArgumentException("LoraLinear needs a base linear, options, a random generator and a"
                + " base product");
        }
        this.options = options;
        this.product = product;
        INDArray w = base.weight().value();
        long out = w.size(0);
        long in = w.size(1);
        weight = param("weight", w).requiresGrad(false);
        bias = base.bias() == null ? null : param("bias", base.bias().value()).requiresGrad(false);
        DataType dtype = Widening.computeDtype(w.dataType());   // over a bf16 base the adapters stay float32
        loraA = child("lora_A", new Linear((int) in, options.r(), false, dtype, Init.linearDefault(in, rng)));
        loraB = child("lora_B", new Linear(options.r(), (int) out, false, dtype, Init.zeros()));
        magnitude = options.dora() ? param("lora_magnitude_vector", LoraMath.rowNorms(w)) : null;
        if (options.dropout() > 0) {
            SplittableRandom masks = rng.split();
            dropoutSeeds = () -> {
                synchronized (masks) {   // data-parallel replicas share the model; SplittableRandom is not thread-safe
                    return masks.nextLong();
                }
            };
        }
    }

    /** x [..., in] → [..., out]; after {@link #merge()} just the (merged) base product. */
    @Override
    public Tensor forward(Tensor x) {
        if (merged) {
            return product.apply(x, weight, bias);
        }
        if (options.dora()) {
            return forward(x, weightNorm());   // backward reads the norm: it must outlive this call
        }
        return baseAndUpdate(x, dropout(x), bias);
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
        Tensor factor = div(magnitude, Tensor.of(rowNorm));
        Tensor dropped = dropout(x);
        if (dropped == x) {
            Tensor y = mul(baseAndUpdate(x, x, null), factor);
            return bias == null ? y : add(y, bias);
        }
        Tensor correction = mul(product.apply(dropped, weight, null), addScalar(factor, -1));
        return add(add(product.apply(x, weight, bias), correction), mul(update(dropped), factor));
    }

    /**
     * Takes dropout seeds from {@code seeds} from now on, one per training forward: a fine-tuning job passes
     * its trainer's random source, so a resumed run draws the same masks.
     */
    public void setDropoutSeeds(LongSupplier seeds) {
        if (seeds == null) {
            throw new IllegalArgumentException("LoraLinear.setDropoutSeeds: seeds must not be null");
        }
        dropoutSeeds = seeds;
    }

    /** Sets the DoRA magnitude to the row norms of W + s·B·A, PEFT's start (call it after loading W). */
    public void resetMagnitude() {
        if (!options.dora() || merged) {
            throw new IllegalStateException("LoraLinear.resetMagnitude: " + (merged ? "the adapter is merged"
                : "only DoRA has a magnitude"));
        }
        INDArray n = weightNorm();
        try (GradMode.Scope off = GradMode.disable()) {
            magnitude.mutate(m -> m.assign(n));
        }
        n.close();
    }

    /**
     * The weight this layer applies, as a new [out, in] array: W + s·B·A, for DoRA (m / n)·(W + s·B·A), W
     * itself (copied) while merged (with a fake-quantizing base product, the weight before quantization). Attention that folds the weight into other products (MLA's absorbed
     * cache) reads this.
     */
    @Override
    public INDArray effectiveWeight() {
        try (GradMode.Scope off = GradMode.disable()) {
            if (merged) {
                return weight.value().dup();
            }
            INDArray w = delta().addi(weight.value());
            if (options.dora()) {
                w.muliColumnVector(magnitude.value().div(LoraMath.rowNorms(w)).reshape(-1, 1));
            }
            return w;
        }
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

    /**
     * The exact inverse of the merge: LoRA W -= s·B·A; DoRA W = W·(n / m) - s·B·A. Over a base kept in bf16 the
     * merge rounded W to bf16, so unmerging gives W back only to bf16's precision (as in PEFT).
     */
    public void unmerge() {
        if (!merged) {
            throw new IllegalStateException("LoraLinear: unmerge without a merge");
        }
        try (GradMode.Scope off = GradMode.disable()) {
            INDArray d = delta();
            weight.mutate(w -> {
                INDArray wide = w.dataType() == d.dataType() ? w : w.castTo(d.dataType());   // a bf16 base: in float32
                if (options.dora()) {
                    wide.muliColumnVector(mergedNorm.div(magnitude.value()).reshape(-1, 1));
                }
                wide.subi(d);
                if (wide != w) {
                    w.assign(wide);
                    wide.close();
                }
            });
            d.close();
        }
        mergedNorm = null;
        merged = false;
    }

    public boolean isMerged() {
        return merged;
    }

    /** The frozen path: {@link BaseProduct#LINEAR} or, for QAT-LoRA, a fake-quantized product. */
    public BaseProduct product() {
        return product;
    }

    public LoraOptions options() {
        return options;
    }

    /** The frozen path x·Wᵀ + b ({@link BaseProduct#LINEAR} unless a QAT-LoRA linear gave another). */
    public BaseProduct baseProduct() {
        return product;
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

    /** x' = dropout(x) in training mode with lora_dropout; x itself otherwise (no seed drawn). */
    private Tensor dropout(Tensor x) {
        if (!isTraining() || options.dropout() == 0) {
            return x;
        }
        return Activations.dropout(x, options.dropout(), true, dropoutSeeds.getAsLong());
    }

    /**
     * x·Wᵀ + b + s·(x'·Aᵀ)·Bᵀ, in the graph: one op for the plain product, which keeps only its [rows, r] part for
     * backward, where the composite form kept three [rows, out] arrays per adapted linear until the step's end.
     */
    private Tensor baseAndUpdate(Tensor x, Tensor dropped, Tensor b) {
        if (product == BaseProduct.LINEAR) {
            return LowRank.linear(x, dropped, weight, b, loraA.weight(), loraB.weight(), options.scale());
        }
        return add(product.apply(x, weight, b), update(dropped));
    }

    /** s · (x·Aᵀ)·Bᵀ, in the graph. */
    private Tensor update(Tensor x) {
        return mulScalar(loraB.forward(loraA.forward(x)), options.scale());
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
