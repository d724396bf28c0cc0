// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.layers.models.CausalLm;

/**
 * A causal LM with LoRA adapters, built by {@link LoraModels}, and its adapters by full module name
 * ("model.layers.0.self_attn.q_proj"). Merging acts on every adapter at once.
 */
public record AdaptedModel(CausalLm model, Map<String, LoraLinear> adapters) {
    public AdaptedModel {
        if (model == null || adapters == null) {
            throw new IllegalArgumentException("AdaptedModel: model and adapters must not be null");
        }
        adapters = Collections.unmodifiableMap(new LinkedHashMap<>(adapters));
    }

    /** The base model's keys (the plain model's checkpoint) and live arrays; the adapted weights unmerged or not. */
    public Map<String, INDArray> baseState() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        model.stateDict().forEach((key, value) -> {
            if (!isAdapterKey(key)) {
                out.put(key, value);
            }
        });
        return out;
    }

    /** The adapters' own parameters by model key ("...q_proj.lora_A.weight", "...lora_magnitude_vector"), live. */
    public Map<String, INDArray> adapterState() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        model.stateDict().forEach((key, value) -> {
            if (isAdapterKey(key)) {
                out.put(key, value);
            }
        });
        return out;
    }

    /**
     * Copies adapter tensors (model keys, as {@link #adapterState()} names them) into the adapters, converting
     * dtypes, as {@link AdapterWeights#load} loads a PEFT file. Strict: a missing, unexpected or misshapen key is
     * an error naming the key and both shapes, and nothing is loaded.
     */
    public void loadAdapterState(Map<String, INDArray> state) {
        Map<String, INDArray> byPeftKey = new LinkedHashMap<>();
        state.forEach((key, value) -> byPeftKey.put(AdapterWeights.PREFIX + key, value));
        AdapterWeights.load(model, byPeftKey, "adapter state");
    }

    /**
     * The merged model's checkpoint: the base keys, each adapted weight replaced by its effective weight (a new
     * array; W + s·B·A, DoRA's (m / n)·(W + s·B·A)), without merging the live model. The merged weight has the
     * base weight's dtype, as PEFT merges: over a base kept in bf16 it is rounded to bf16 once.
     */
    public Map<String, INDArray> mergedState() {
        Map<String, INDArray> out = baseState();
        adapters.forEach((name, a) -> {
            INDArray merged = a.effectiveWeight();
            DataType base = a.weight().dtype();
            out.put(name + ".weight", merged.dataType() == base ? merged : roundTo(merged, base));
        });
        return out;
    }

    private static INDArray roundTo(INDArray merged, DataType dtype) {
        INDArray rounded = merged.castTo(dtype);
        merged.close();
        return rounded;
    }

    /** Merges every adapter into its base weight (generation then costs what the base model costs). */
    public void merge() {
        adapters.values().forEach(LoraLinear::merge);
    }

    /**
     * As {@link #merge()}, but refuses when a merged weight would hold a NaN or an infinity, naming the module;
     * the adapters merged before it are unmerged again, so the model is left as it was.
     */
    public void safeMerge() {
        List<LoraLinear> done = new ArrayList<>();
        try {
            adapters.forEach((name, a) -> {
                a.safeMerge(name);
                done.add(a);
            });
        } catch (RuntimeException e) {
            done.forEach(LoraLinear::unmerge);
            throw e;
        }
    }

    /** Takes every adapter back out of its base weight: the exact inverse of the merge. */
    public void unmerge() {
        adapters.values().forEach(LoraLinear::unmerge);
    }

    /** True when every adapter is merged (false for a model without adapters). */
    public boolean isMerged() {
        return !adapters.isEmpty() && adapters.values().stream().allMatch(LoraLinear::isMerged);
    }

    /** Seeds every adapter's lora_dropout masks from {@code seeds} (a trainer's random source). */
    public void setDropoutSeeds(LongSupplier seeds) {
        adapters.values().forEach(a -> a.setDropoutSeeds(seeds));
    }

    /** PEFT's {@code trainable params: N || all params: M || trainable%: P} for this model. */
    public String trainableParamsLine() {
        return LoraModels.trainableParamsLine(model);
    }

    /** A key under an adapter that the base model does not have (lora_A, lora_B, the DoRA magnitude). */
    private boolean isAdapterKey(String key) {
        for (String name : adapters.keySet()) {
            if (key.startsWith(name + ".") && !key.equals(name + ".weight") && !key.equals(name + ".bias")) {
                return true;
            }
        }
        return false;
    }
}
