// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.data.WeightFiles;
import spindle.layers.Init;
import spindle.layers.LoadReport;
import spindle.layers.Module;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;

/**
 * Causal LMs with LoRA adapters on the linears a {@link LoraConfig} targets, as PEFT's {@code get_peft_model}:
 * every base parameter (embedding, norms, router, the adapted linears' weights) is frozen, only the adapters
 * train, and the parameter names stay the plain model's plus PEFT's lora_A / lora_B / lora_magnitude_vector.
 */
public final class LoraModels {
    private LoraModels() {}

    /**
     * The model of config.json with Hugging Face's initialisation from {@code seed} (the same base weights as
     * {@link CausalLms#fromHfConfig(HfConfig, DataType, long)}) and adapters drawn from a generator split off it.
     */
    public static AdaptedModel fromHfConfig(HfConfig config, DataType dtype, LoraConfig lora, long seed) {
        return fromHfConfig(config, dtype, dtype, lora, seed);
    }

    /**
     * As {@link #fromHfConfig(HfConfig, DataType, LoraConfig, long)} with the frozen base's weight matrices kept in
     * {@code baseDtype}: BFLOAT16 (or HALF) with float32 {@code dtype} halves the base's memory, each value the
     * float32 draw rounded; norms, biases and the adapters stay in {@code dtype}.
     */
    public static AdaptedModel fromHfConfig(HfConfig config, DataType dtype, DataType baseDtype, LoraConfig lora,
                                            long seed) {
        FrozenBase.checkDtypes(dtype, baseDtype);
        SplittableRandom baseRng = new SplittableRandom(seed);
        SplittableRandom adapterRng = new SplittableRandom(seed).split();
        Init init = FrozenBase.storedIn(baseDtype, Init.normal(0, config.real("initializer_range", 0.02), baseRng));
        return build(config, dtype, init, new LoraLinearFactory(lora, dtype, init, adapterRng));
    }

    /**
     * The model of config.json with its projections from {@code linears} (which decides the adapters, their
     * base product and the untargeted layers), checked against the targets and frozen but for the adapters.
     * A target that matches no module, or names the MoE router or another module that is not a linear, is an
     * error saying so.
     */
    public static AdaptedModel build(HfConfig config, DataType dtype, Init init, LoraLinearFactory linears) {
        CausalLm model = CausalLms.fromHfConfig(config, dtype, linears, init);
        Map<String, LoraLinear> adapters = linears.adapters();
        try {
            TargetCheck.check(linears.config(), model.namedModules(), linears.linearNames(), adapters);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(config.source() + ": " + e.getMessage(), e);
        }
        model.freeze();
        adapters.values().forEach(LoraModels::unfreezeAdapter);
        FrozenBase.requireFrozen(model);
        return new AdaptedModel(model, adapters);
    }

    /**
     * A base model directory (config.json and model.safetensors or its shards, as {@code spindle pretrain} or
     * Hugging Face write it) with fresh adapters: every base key must be in the file, none extra, shapes equal; DoRA
     * magnitudes start from the loaded weights.
     */
    public static AdaptedModel fromPretrained(Path dir, DataType dtype, LoraConfig lora, long seed) {
        return fromPretrained(dir, dtype, dtype, lora, seed);
    }

    /**
     * As {@link #fromPretrained(Path, DataType, LoraConfig, long)} with the frozen base's weight matrices kept in
     * {@code baseDtype} (BFLOAT16 with float32 {@code dtype}: half the memory; a bf16 file loads exactly, a float32
     * one is rounded). The adapters, norms and biases stay in {@code dtype}, and every product computes in it.
     */
    public static AdaptedModel fromPretrained(Path dir, DataType dtype, DataType baseDtype, LoraConfig lora, long seed) {
        FrozenBase.checkDtypes(dtype, baseDtype);
        CausalLms.requireWeights(dir);   // model.safetensors, or shards with their index
        HfConfig config = HfConfig.read(dir.resolve("config.json"));
        Init zeros = FrozenBase.storedIn(baseDtype, Init.zeros());
        LoraLinearFactory linears = new LoraLinearFactory(lora, dtype, zeros, new SplittableRandom(seed));
        AdaptedModel adapted = build(config, dtype, zeros, linears);
        loadBase(adapted, dir);
        return adapted;
    }

    /**
     * Loads a base checkpoint (the plain model's keys) into an adapted model, strictly, and sets each DoRA
     * magnitude to the loaded weight's row norms, PEFT's start. The adapters are left as they are. {@code weights}
     * is a safetensors file or a model directory (one file or shards).
     */
    public static void loadBase(AdaptedModel adapted, Path weights) {
        Map<String, INDArray> state;
        try {
            // as stored: a bf16 file costs half of float32 while it is read, and each tensor is cast as it loads
            state = Files.isDirectory(weights) ? WeightFiles.readStored(weights) : Safetensors.readStored(weights);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + weights, e);
        }
        try {
            LoadReport base = LoadReport.compare(adapted.baseState(), state);
            if (!base.isClean()) {
                throw new IllegalArgumentException(weights + ": the base model's weights do not match the model: "
                    + base.describe());
            }
            adapted.model().loadStateDict(state, false);
        } finally {
            state.values().forEach(INDArray::close);
        }
        adapted.adapters().values().forEach(a -> {
            if (a.options().dora()) {
                a.resetMagnitude();
            }
        });
    }

    /**
     * PEFT's {@code print_trainable_parameters} line for {@code model}:
     * {@code trainable params: 1,024 || all params: 100,000 || trainable%: 1.0240}.
     */
    public static String trainableParamsLine(Module model) {
        long trainable = model.trainableParameterCount();
        long all = model.parameterCount();
        double percent = all == 0 ? 0 : 100.0 * trainable / all;
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
            trainable, all, percent);
    }

    private static void unfreezeAdapter(LoraLinear a) {
        a.loraA().unfreeze();
        a.loraB().unfreeze();
        if (a.magnitude() != null) {
            a.magnitude().requiresGrad(true);
        }
    }
}
