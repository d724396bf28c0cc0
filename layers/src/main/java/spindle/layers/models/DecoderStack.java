// SPDX-License-Identifier: Apache-2.0
package spindle.layers.models;

import java.util.List;
import spindle.layers.Embedding;
import spindle.layers.Module;
import spindle.layers.ModuleList;
import spindle.layers.RmsNorm;

/** The "model" part of a causal LM: embed_tokens, layers.N and the final norm, under Hugging Face names. */
public final class DecoderStack extends Module {
    private final Embedding embedTokens;
    private final ModuleList<DecoderBlock> layers;
    private final RmsNorm norm;

    public DecoderStack(Embedding embedTokens, List<DecoderBlock> layers, RmsNorm norm) {
        this.embedTokens = child("embed_tokens", embedTokens);
        this.layers = child("layers", new ModuleList<>(layers));
        this.norm = child("norm", norm);
    }

    public Embedding embedTokens() {
        return embedTokens;
    }

    public List<DecoderBlock> layers() {
        return layers.items();
    }

    public RmsNorm norm() {
        return norm;
    }
}
