// SPDX-License-Identifier: Apache-2.0
package spindle.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;

/**
 * Base of the optimizers: parameter groups with per-group options, the step loop, and state that
 * round-trips through a checkpoint. As in PyTorch, {@link #step()} skips parameters that do not require
 * grad or whose grad is null, and each parameter keeps its own step count and buffers.
 *
 * <p>A subclass writes only {@link #update}, the rule for one parameter, with ND4J in-place ops (and one pass per
 * parameter where ND4J's fixed cost per op dominates, {@link SmallUpdates}: native code for float32, a Java loop
 * for small parameters).
 */
public abstract class Optimizer {
    private final String kind;
    private final List<Map<String, Tensor>> groups = new ArrayList<>();
    private final List<OptimizerOptions> options = new ArrayList<>();
    private final double[] initialLr;
    private final Map<String, Tensor> byName = new LinkedHashMap<>();
    private final ThreadLocal<Scratch> scratch;   // per thread, so parallel lanes of a step never share one
    private Map<String, ParamState> states = new LinkedHashMap<>();

    /** {@code kind} names the optimizer in errors and checkpoints; each group's overrides are applied to {@code defaults}. */
    protected Optimizer(String kind, List<ParamGroup> paramGroups, OptimizerOptions defaults) {
        this.kind = kind;
        Map<Tensor, String> owners = new IdentityHashMap<>();
        Map<DataType, Long> longest = new HashMap<>();
        for (int g = 0; g < paramGroups.size(); g++) {
            ParamGroup group = paramGroups.get(g);
            options.add(resolve(defaults, group, g));
            for (var e : group.params().entrySet()) {
                addParam(e.getKey(), e.getValue(), owners);
                longest.merge(e.getValue().dtype(), e.getValue().value().length(), Math::max);
            }
            groups.add(group.params());
        }
        if (byName.isEmpty()) {
            throw new IllegalArgumentException(kind + ": got no parameters; is every parameter frozen?");
        }
        initialLr = options.stream().mapToDouble(OptimizerOptions::lr).toArray();
        scratch = ThreadLocal.withInitial(() -> new Scratch(longest));
    }

    /**
     * Updates one parameter in place (call {@code param.mutate}); grad mode is off. {@code state} already
     * counts this step; {@code grad} has the parameter's shape and dtype and must not be changed.
     */
    protected abstract void update(Tensor param, INDArray grad, ParamState state, OptimizerOptions options);

    /**
     * The buffers {@link #update} keeps for a parameter that has taken a step under {@code options}, e.g.
     * "exp_avg" and "exp_avg_sq"; a saved state must hold exactly these, so none is silently restarted at zero.
     */
    protected abstract Set<String> stateKeys(OptimizerOptions options);

    /** A temporary shaped like {@code like}, reused across parameters and steps; slots 0, 1, ... never overlap. */
    protected final INDArray scratch(int slot, INDArray like) {
        return scratch.get().like(slot, like);
    }

    /** One optimizer step over every parameter that requires grad and has a gradient. */
    public final void step() {
        List<Runnable> updates = pendingUpdates(null);
        try (var off = GradMode.disable()) {
            updates.forEach(Runnable::run);
        }
    }

    /**
     * {@link #step()} with the parameters dealt out, by size, over {@code lanes} tasks on {@code pool}: each
     * parameter's update reads and writes only its own arrays, so the result is the same as {@code step()}.
     * A data-parallel trainer runs it on its replica threads. The first lane's failure is rethrown once all ended.
     */
    public final void step(ExecutorService pool, int lanes) {
        if (lanes < 1) {
            throw new IllegalArgumentException(kind + ".step: lanes must be at least 1 but is " + lanes);
        }
        List<Long> sizes = new ArrayList<>();
        List<Runnable> updates = pendingUpdates(sizes);
        List<Future<?>> running = new ArrayList<>();
        for (List<Integer> lane : Lanes.deal(sizes, lanes)) {
            running.add(pool.submit(() -> {
                try (var off = GradMode.disable()) {
                    lane.forEach(i -> updates.get(i).run());
                }
            }));
        }
        RuntimeException failure = null;
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Error error) {
                    throw error;
                }
                failure = failure != null ? failure : e.getCause() instanceof RuntimeException re ? re
                    : new IllegalStateException(kind + ".step failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = failure != null ? failure : new IllegalStateException(kind + ".step was interrupted", e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * The step's updates in parameter order, each parameter's state already advanced (done here, on one thread,
     * since the state map is not shared safely); the element counts go to {@code sizes} when it is not null.
     */
    private List<Runnable> pendingUpdates(List<Long> sizes) {
        List<Runnable> updates = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            OptimizerOptions o = options.get(g);
            for (var e : groups.get(g).entrySet()) {
                Tensor p = e.getValue();
                INDArray grad = p.grad();
                if (!p.requiresGrad() || grad == null) {
                    continue;   // PyTorch: a parameter backward did not reach keeps its value and state
                }
                requireMatching(e.getKey(), p, grad);
                ParamState s = states.computeIfAbsent(e.getKey(), k -> new ParamState());
                s.advance();
                updates.add(() -> update(p, grad, s, o));
                if (sizes != null) {
                    sizes.add(p.value().length());
                }
            }
        }
        return updates;
    }

    /** Sets every parameter's grad to null (PyTorch's zero_grad(set_to_none=True)); the memory is freed now. */
    public final void zeroGrad() {
        byName.values().forEach(Tensor::zeroGrad);
    }

    /** Number of parameter groups. */
    public final int groupCount() {
        return groups.size();
    }

    /** The named parameters of group {@code g}, in order. */
    public final Map<String, Tensor> params(int g) {
        return groups.get(checkGroup(g));
    }

    /** Every parameter of every group, in order (e.g. for {@link GradClip#clipGlobalNorm}). */
    public final List<Tensor> parameters() {
        return List.copyOf(byName.values());
    }

    /** The options in force for group {@code g}. */
    public final OptimizerOptions options(int g) {
        return options.get(checkGroup(g));
    }

    /** Current learning rate of group {@code g}. */
    public final double lr(int g) {
        return options(g).lr();
    }

    /** Sets the learning rate of group {@code g} (what a schedule does before each step). */
    public final void setLr(int g, double lr) {
        options.set(checkGroup(g), options.get(g).withLr(lr));
    }

    /** Sets the learning rate of every group. */
    public final void setLr(double lr) {
        for (int g = 0; g < groups.size(); g++) {
            setLr(g, lr);
        }
    }

    /** The learning rate group {@code g} was built with (PyTorch's initial_lr): the base schedules multiply. */
    public final double initialLr(int g) {
        return initialLr[checkGroup(g)];
    }

    /**
     * Every state buffer as "parameter name.state key", e.g. "model.layers.0.mlp.up_proj.weight.exp_avg".
     * The arrays are the live buffers, not copies: write them out before the next step.
     */
    public final Map<String, INDArray> stateTensors() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        states.forEach((name, s) -> s.buffers().forEach((key, a) -> out.put(name + "." + key, a)));
        return out;
    }

    /** The scalars of the state (JSON-able); with {@link #stateTensors()} it is the whole checkpoint. */
    public final OptimizerState state() {
        List<OptimizerState.Group> gs = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            gs.add(new OptimizerState.Group(List.copyOf(groups.get(g).keySet()), initialLr[g],
                options.get(g).hyperParameters()));
        }
        Map<String, Long> steps = new LinkedHashMap<>();
        states.forEach((name, s) -> steps.put(name, s.step()));
        return new OptimizerState(kind, gs, steps);
    }

    /**
     * Replaces options, initial lrs, step counts and buffers (copied) with a saved state, so that the next
     * step equals the one an uninterrupted run would take; as in PyTorch the saved hyper-parameters win over
     * the constructor's. Groups must hold the same names in the same order, and each parameter with a saved
     * step exactly the buffers of {@link #stateKeys}, in its own shape and dtype; errors name the tensor.
     */
    public final void loadState(OptimizerState saved, Map<String, INDArray> tensors) {
        load(saved, tensors, false);
    }

    /**
     * As {@link #loadState}, but keeps the options and initial lrs this optimizer was built with: a run that
     * resumes with a changed learning rate or weight decay uses the new values from its next step.
     */
    public final void loadStateKeepingOptions(OptimizerState saved, Map<String, INDArray> tensors) {
        load(saved, tensors, true);
    }

    private void load(OptimizerState saved, Map<String, INDArray> tensors, boolean keepOptions) {
        if (!kind.equals(saved.optimizer())) {
            throw new IllegalArgumentException(kind + ".loadState: the state was saved by " + saved.optimizer());
        }
        if (saved.groups().size() != groups.size()) {
            throw new IllegalArgumentException(kind + ".loadState: the state has " + saved.groups().size()
                + " param groups but this optimizer has " + groups.size());
        }
        List<OptimizerOptions> loaded = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            OptimizerState.Group sg = saved.groups().get(g);
            List<String> names = List.copyOf(groups.get(g).keySet());
            if (!names.equals(sg.params())) {
                throw new IllegalArgumentException(kind + ".loadState: param group " + g + " holds " + names
                    + " but the saved group holds " + sg.params());
            }
            OptimizerOptions o = options.get(g);
            for (var e : sg.hyperParameters().entrySet()) {
                o = o.with(e.getKey(), e.getValue());
            }
            loaded.add(keepOptions ? options.get(g) : o);
        }
        Map<String, ParamState> fresh = loadParamStates(saved.steps(), tensors);
        requireEveryBuffer(fresh, loaded);
        for (int g = 0; g < groups.size(); g++) {
            options.set(g, loaded.get(g));
            if (!keepOptions) {
                initialLr[g] = saved.groups().get(g).initialLr();
            }
        }
        states = fresh;
    }

    /** Each loaded parameter holds exactly the buffers its group's options make {@link #update} keep. */
    private void requireEveryBuffer(Map<String, ParamState> loaded, List<OptimizerOptions> groupOptions) {
        for (int g = 0; g < groups.size(); g++) {
            Set<String> expected = new TreeSet<>(stateKeys(groupOptions.get(g)));
            for (String name : groups.get(g).keySet()) {
                ParamState s = loaded.get(name);
                if (s == null || s.step() == 0) {
                    continue;   // no step taken yet: its buffers are made on the first one
                }
                Set<String> have = new TreeSet<>(s.buffers().keySet());
                for (String key : expected) {
                    if (!have.contains(key)) {
                        throw new IllegalArgumentException(kind + ".loadState: tensor '" + name + "." + key
                            + "' is missing (the parameter has taken " + s.step() + " steps, so " + kind
                            + " keeps " + expected + " for it)");
                    }
                }
                for (String key : have) {
                    if (!expected.contains(key)) {
                        throw new IllegalArgumentException(kind + ".loadState: tensor '" + name + "." + key
                            + "' is not a state " + kind + " keeps with these options (it keeps " + expected + ")");
                    }
                }
            }
        }
    }

    private Map<String, ParamState> loadParamStates(Map<String, Long> steps, Map<String, INDArray> tensors) {
        Map<String, ParamState> fresh = new LinkedHashMap<>();
        steps.forEach((name, step) -> {
            if (!byName.containsKey(name)) {
                throw new IllegalArgumentException(kind + ".loadState: the saved steps name '" + name
                    + "', which is no parameter of this optimizer");
            }
            fresh.computeIfAbsent(name, k -> new ParamState()).setStep(step);
        });
        tensors.forEach((key, a) -> {
            int dot = key.lastIndexOf('.');
            ParamState s = dot < 0 ? null : fresh.get(key.substring(0, dot));
            if (s == null) {
                throw new IllegalArgumentException(kind + ".loadState: tensor '" + key
                    + "' is not '<parameter with a saved step>.<state key>'");
            }
            Tensor p = byName.get(key.substring(0, dot));
            if (a.dataType() != p.dtype() || !Arrays.equals(a.shape(), p.shape())) {
                throw new IllegalArgumentException(kind + ".loadState: tensor '" + key + "' is " + describe(a)
                    + " but its parameter is " + describe(p.value()));
            }
            s.put(key.substring(dot + 1), a.dup('c'));
        });
        return fresh;
    }

    private OptimizerOptions resolve(OptimizerOptions defaults, ParamGroup group, int g) {
        OptimizerOptions o = defaults;
        try {
            for (var e : group.overrides().entrySet()) {
                o = o.with(e.getKey(), e.getValue());
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("param group " + g + ": " + e.getMessage(), e);
        }
        return o;
    }

    private void addParam(String name, Tensor t, Map<Tensor, String> owners) {
        if (byName.containsKey(name)) {
            throw new IllegalArgumentException(kind + ": parameter name '" + name + "' appears more than once");
        }
        String other = owners.put(t, name);
        if (other != null) {
            throw new IllegalArgumentException(kind + ": '" + other + "' and '" + name
                + "' are the same tensor; a parameter may appear once");
        }
        if (!t.isLeaf()) {
            throw new IllegalArgumentException(kind + ": '" + name + "' is not a leaf tensor (it was computed by an op)"
                + " and cannot be optimized");
        }
        byName.put(name, t);
    }

    private void requireMatching(String name, Tensor p, INDArray grad) {
        if (grad.dataType() != p.dtype() || !Arrays.equals(grad.shape(), p.shape())) {
            throw new IllegalStateException(kind + ".step: the gradient of '" + name + "' is " + describe(grad)
                + " but the parameter is " + describe(p.value()));
        }
    }

    private int checkGroup(int g) {
        if (g < 0 || g >= groups.size()) {
            throw new IndexOutOfBoundsException(kind + " has " + groups.size() + " param groups; there is no group " + g);
        }
        return g;
    }

    private static String describe(INDArray a) {
        return a.dataType() + " " + Arrays.toString(a.shape());
    }

    /** The kind and each group's options, e.g. "Adam [AdamOptions[lr=0.001, ...]]". */
    @Override
    public String toString() {
        return kind + " " + options;
    }
}
