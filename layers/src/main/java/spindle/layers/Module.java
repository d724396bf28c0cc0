// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;

/**
 * A tree of named parameters, buffers and child modules. Names are Hugging Face checkpoint names, so the
 * keys of {@link #stateDict()} are checkpoint keys ({@code model.layers.0.self_attn.q_proj.weight}).
 * Registration order is kept: it fixes the order of optimizer state and of data-parallel buckets.
 *
 * <p>Subclasses register members in their constructor with {@link #param}, {@link #buffer} and
 * {@link #child}, keep the returned objects in final fields, and give themselves a typed forward.
 */
public abstract class Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, INDArray> buffers = new LinkedHashMap<>();
    private final Map<String, Boolean> persistent = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a trainable parameter under its checkpoint name ("weight") and returns it. */
    protected final Tensor param(String name, INDArray initial) {
        checkFreeName(name);
        Tensor p = Tensor.of(initial).requiresGrad(true);
        params.put(name, p);
        return p;
    }

    /**
     * Registers a buffer: state that is not trained by the optimizer (a running statistic, a bias moved by a
     * rule). A persistent buffer is part of the state dict; a non-persistent one (a cache) is not.
     */
    protected final INDArray buffer(String name, INDArray initial, boolean persistentInStateDict) {
        checkFreeName(name);
        buffers.put(name, initial);
        persistent.put(name, persistentInStateDict);
        return initial;
    }

    /** Registers a submodule under its checkpoint name ("q_proj", or "0" in a list) and returns it. */
    protected final <M extends Module> M child(String name, M module) {
        checkFreeName(name);
        if (module == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": child '" + name + "' is null");
        }
        children.put(name, module);
        return module;
    }

    /** The buffer registered under {@code name} in this module (not a child). */
    protected final INDArray buffer(String name) {
        INDArray b = buffers.get(name);
        if (b == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " has no buffer '" + name + "'");
        }
        return b;
    }

    /**
     * Every parameter by dotted path, in registration order. A parameter reachable by two paths (a child
     * registered twice, as tied weights are) is listed once, under its first path, as PyTorch does: an
     * optimizer must not step it twice.
     */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        visit("", (prefix, m) -> m.params.forEach((n, p) -> {
            if (seen.add(p)) {
                out.put(prefix + n, p);
            }
        }));
        return Collections.unmodifiableMap(out);
    }

    /** The parameters that are not frozen, by dotted path: what an optimizer should be given. */
    public final Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) {
                out.put(n, p);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /** Every buffer by dotted path, persistent or not. */
    public final Map<String, INDArray> namedBuffers() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> m.buffers.forEach((n, b) -> out.put(prefix + n, b)));
        return Collections.unmodifiableMap(out);
    }

    /** This module and every descendant by dotted path (each once, under its first path); this module's is "". */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        Set<Module> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        visit("", (prefix, m) -> {
            if (seen.add(m)) {
                out.put(prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1), m);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /**
     * Parameter values and persistent buffers by checkpoint key; the arrays are the live ones, not copies. A
     * shared member appears under every path, as in PyTorch's {@code state_dict()}.
     */
    public final Map<String, INDArray> stateDict() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            m.params.forEach((n, p) -> out.put(prefix + n, p.value()));
            m.buffers.forEach((n, b) -> {
                if (m.persistent.get(n)) {
                    out.put(prefix + n, b);
                }
            });
        });
        return out;
    }

    /**
     * Copies {@code state} into this module's parameters and persistent buffers, converting the dtype to
     * each member's own. Strict: a missing, unexpected or misshapen key throws, naming the key and both
     * shapes. Non-strict: what matches is loaded and the rest is reported.
     */
    public final LoadReport loadStateDict(Map<String, INDArray> state, boolean strict) {
        Map<String, INDArray> own = stateDict();
        LoadReport report = LoadReport.compare(own, state);
        if (strict && !report.isClean()) {
            throw new IllegalArgumentException("state dict does not match " + getClass().getSimpleName() + ": "
                + report.describe());
        }
        Map<String, Tensor> byKey = new LinkedHashMap<>();
        visit("", (prefix, m) -> m.params.forEach((n, p) -> byKey.put(prefix + n, p)));
        // loading is not part of any graph; as PyTorch's load_state_dict, it copies under no_grad
        try (GradMode.Scope off = GradMode.disable()) {
            own.forEach((key, target) -> {
                INDArray source = state.get(key);
                if (source == null || !Arrays.equals(source.shape(), target.shape())) {
                    return;
                }
                boolean cast = source.dataType() != target.dataType();
                INDArray converted = cast ? source.castTo(target.dataType()) : source;
                Tensor p = byKey.get(key);
                if (p != null) {
                    p.mutate(v -> v.assign(converted));
                } else {
                    target.assign(converted);
                }
                if (cast) {
                    converted.close();   // a full-size copy per weight: free it now, not at GC
                }
            });
        }
        return report;
    }

    /** Training mode for this module and its descendants (dropout active, MoE capacity drops tokens). */
    public final Module train() {
        visit("", (prefix, m) -> m.training = true);
        return this;
    }

    /** Evaluation mode for this module and its descendants. */
    public final Module eval() {
        visit("", (prefix, m) -> m.training = false);
        return this;
    }

    public final boolean isTraining() {
        return training;
    }

    /** Stops gradients for every parameter of this subtree (they leave {@link #trainableParameters()}). */
    public final Module freeze() {
        namedParameters().values().forEach(p -> p.requiresGrad(false));
        return this;
    }

    /** Makes every parameter of this subtree trainable again. */
    public final Module unfreeze() {
        namedParameters().values().forEach(p -> p.requiresGrad(true));
        return this;
    }

    /** Total number of parameter elements. */
    public final long parameterCount() {
        return namedParameters().values().stream().mapToLong(p -> p.value().length()).sum();
    }

    /** Number of parameter elements that are trained (not frozen). */
    public final long trainableParameterCount() {
        return trainableParameters().values().stream().mapToLong(p -> p.value().length()).sum();
    }

    /** Resets the gradients of every parameter in this subtree. */
    public final void zeroGrad() {
        namedParameters().values().forEach(Tensor::zeroGrad);
    }

    private interface Visitor {
        void accept(String prefix, Module m);
    }

    private void visit(String prefix, Visitor visitor) {
        visitor.accept(prefix, this);
        children.forEach((n, m) -> m.visit(prefix + n + ".", visitor));
    }

    private void checkFreeName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": member name '" + name
                + "' must be non-empty and without dots (dots join the path)");
        }
        if (params.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " already has a member named '" + name + "'");
        }
    }
}
