// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.layers.Init;
import spindle.layers.Layer;
import spindle.layers.Linear;
import spindle.layers.LinearFactory;

/**
 * Builds a {@link LoraLinear} for every projection a {@link LoraConfig} targets (by its full module name) and
 * asks another factory for the rest, remembering both: the adapters by name and every linear's name, which
 * {@link LoraModels} checks the targets against.
 */
public final class LoraLinearFactory implements LinearFactory {
    private final LoraConfig config;
    private final DataType dtype;
    private final Init init;
    private final SplittableRandom rng;
    private final BaseProduct product;
    private final LinearFactory others;
    private final Map<String, LoraLinear> adapters = new LinkedHashMap<>();
    private final Set<String> linearNames = new LinkedHashSet<>();

    /** Plain base products; the untargeted projections are plain {@link Linear}s filled by {@code init}. */
    public LoraLinearFactory(LoraConfig config, DataType dtype, Init init, SplittableRandom rng) {
        this(config, dtype, init, rng, BaseProduct.LINEAR, LinearFactory.plain(dtype, init));
    }

    /**
     * @param init    fills the base weights of the targeted projections
     * @param rng     draws every adapter's A, in creation order
     * @param product the targeted projections' frozen path (a QAT-LoRA linear fake-quantizes it)
     * @param others  builds the projections that are not targeted (plain, or QAT linears)
     */
    public LoraLinearFactory(LoraConfig config, DataType dtype, Init init, SplittableRandom rng, BaseProduct product,
                             LinearFactory others) {
        if (config == null || dtype == null || init == null || rng == null || product == null || others == null) {
            throw new IllegalArgumentException("LoraLinearFactory: config, dtype, init, rng, product and others must"
                + " not be null");
        }
        this.config = config;
        this.dtype = dtype;
        this.init = init;
        this.rng = rng;
        this.product = product;
        this.others = others;
    }

    @Override
    public Layer create(String name, int in, int out, boolean bias) {
        if (!linearNames.add(name)) {
            throw new IllegalStateException("LoraLinearFactory: two projections named " + name + "; pass each"
                + " container a scoped factory (LinearFactory.scoped) so names are full module names");
        }
        if (!config.targets(name)) {
            return others.create(name, in, out, bias);
        }
        var adapter = new LoraLinear(new Linear(in, out, bias, dtype, init), config.optionsFor(name), rng, product);
        adapters.put(name, adapter);
        return adapter;
    }

    public LoraConfig config() {
        return config;
    }

    /** The adapters built so far by full module name, in creation order. */
    public Map<String, LoraLinear> adapters() {
        return Collections.unmodifiableMap(adapters);
    }

    /** The full names of every projection built so far, adapted or not, in creation order. */
    public List<String> linearNames() {
        return List.copyOf(linearNames);
    }
}
