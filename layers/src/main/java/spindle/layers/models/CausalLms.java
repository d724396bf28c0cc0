// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.data.WeightFiles;
import spindle.data.tokenizer.Tokenizer;
import spindle.layers.Embedding;
import spindle.layers.Init;
import spindle.layers.Layer;
import spindle.layers.LinearFactory;
import spindle.layers.RmsNorm;
import spindle.layers.StateFiles;

/** Builds a causal LM from a Hugging Face config.json (by model_type), and loads a checkpoint directory. */
public final class CausalLms {
    private CausalLms() {}

    /** The model a config describes, with Hugging Face's initialisation N(0, initializer_range²) from {@code seed}. */
    public static CausalLm fromHfConfig(HfConfig config, DataType dtype, long seed) {
        Init init = Init.normal(0, config.real("initializer_range", 0.02), new SplittableRandom(seed));
        return fromHfConfig(config, dtype, LinearFactory.plain(dtype, init), init);
    }

    /**
     * As {@link #fromHfConfig(HfConfig, DataType, long)} with the projections from {@code linears} (LoRA, QAT). A
     * config that cannot make a model is an error naming the config's file and the key.
     */
    public static CausalLm fromHfConfig(HfConfig config, DataType dtype, LinearFactory linears, Init init) {
        String type = config.string("model_type");
        try {
            ConfigKeys.requireNeutral(config);
            return switch (type) {
                case "llama", "qwen2" -> Llama.fromHfConfig(config, dtype, linears, init);
                case "deepseek_v3" -> DeepSeekV3.fromHfConfig(config, dtype, linears, init);
                default -> throw new IllegalArgumentException("model_type '" + type + "' is not supported; use"
                    + " \"llama\", \"qwen2\" or \"deepseek_v3\"");
            };
        } catch (IllegalArgumentException e) {
            // the layers' own checks name the key ("kv_lora_rank must be positive"); the file is known only here
            String message = String.valueOf(e.getMessage());
            throw message.startsWith(config.source()) ? e : new IllegalArgumentException(config.source() + ": " + message, e);
        }
    }

    /**
     * A model directory as Hugging Face writes it: config.json and model.safetensors (or shards with
     * model.safetensors.index.json), loaded strictly (every key present, none extra, all shapes equal) and
     * converted to {@code dtype} (bf16 and f16 checkpoints widen exactly).
     */
    public static CausalLm fromPretrained(Path dir, DataType dtype) {
        requireWeights(dir);
        HfConfig config = HfConfig.read(dir.resolve("config.json"));
        if (config.has("quantization_config")) {
            throw new IllegalArgumentException(config.source() + ": quantization_config " + config.asMap()
                .get("quantization_config") + " is not supported here: this loader reads float weights (bf16, f16,"
                + " f32, f64); a directory Spindle's QAT convert wrote loads with QuantizedModels");
        }
        CausalLm model = fromHfConfig(config, dtype, 0);
        StateFiles.loadModel(model, dir, true);
        return model;
    }

    /** Checks before a model is built that {@code dir} holds weights, one file or an index with its shards. */
    public static void requireWeights(Path dir) {
        try {
            WeightFiles.files(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the weights of " + dir, e);
        }
    }

    /** Checks that {@code model} has an embedding row for every id {@code tokenizer} can produce. */
    public static void requireVocab(CausalLm model, Tokenizer tokenizer) {
        if (model.vocabSize() < tokenizer.vocabSize()) {
            throw new IllegalArgumentException("the model's vocab_size " + model.vocabSize() + " is smaller than the "
                + tokenizer.vocabSize() + " ids of its tokenizer; give the model a vocab_size of at least "
                + tokenizer.vocabSize());
        }
    }

    /**
     * The factory for decoder layer {@code i}'s projections: names under "model.layers.i", the path
     * {@link CausalLm} ("model") and {@link DecoderStack} ("layers") give the block.
     */
    static LinearFactory layerLinears(LinearFactory linears, int i) {
        return linears.scoped("model.layers." + i);
    }

    /** Embedding, final norm and head around the family's blocks; the parts every family shares. */
    static CausalLm assemble(String type, HfConfig config, List<DecoderBlock> blocks, DataType dtype,
                             LinearFactory linears, Init init) {
        int vocab = config.positiveInteger("vocab_size");
        int hidden = config.positiveInteger("hidden_size");
        var stack = new DecoderStack(new Embedding(vocab, hidden, dtype, init), blocks,
            new RmsNorm(hidden, config.real("rms_norm_eps", 1e-6), dtype));
        Layer head = config.bool("tie_word_embeddings", false) ? null : linears.create("lm_head", hidden, vocab, false);
        return new CausalLm(type, stack, head, dtype, config.positiveInteger("max_position_embeddings"));
    }
}
