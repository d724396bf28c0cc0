// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Autograd;
import spindle.autograd.GradMode;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.TensorFunction;

/**
 * Turns a layer's forward into a function of its input and of its parameters, so that a GradCase can check
 * both: the parameter inputs are loaded into the layer by loadStateDict (the numeric side perturbs exactly
 * what the layer reads), and the analytic side is the layer's own backward, run by Autograd.grad on the
 * layer's graph and handed to the GradCase inputs by one recorded node.
 */
final class LayerFunctions {
    private LayerFunctions() {}

    /** in[0] is x, in[1..] are the parameters under {@code keys}. */
    static TensorFunction ofInputAndParams(Module layer, UnaryOperator<Tensor> forward, String... keys) {
        return in -> bridge(layer, keys, in, 1, () -> {
            Tensor x = Tensor.of(in[0].value()).requiresGrad(in[0].requiresGrad());
            return new Tensor[] {forward.apply(x), x};
        });
    }

    /** in[0..] are the parameters under {@code keys}; the layer's input is a constant inside {@code forward}. */
    static TensorFunction ofParams(Module layer, Supplier<Tensor> forward, String... keys) {
        return in -> bridge(layer, keys, in, 0, () -> new Tensor[] {forward.get()});
    }

    /** run returns {y, x (when an input)}; the result is a copy of y whose backward is the layer's. */
    private static Tensor bridge(Module layer, String[] keys, Tensor[] in, int first, Supplier<Tensor[]> run) {
        Map<String, INDArray> state = new LinkedHashMap<>(layer.stateDict());
        for (int k = 0; k < keys.length; k++) {
            if (!state.containsKey(keys[k])) {
                throw new IllegalArgumentException(layer.getClass().getSimpleName() + " has no parameter " + keys[k]);
            }
            state.put(keys[k], in[first + k].value());
        }
        try (GradMode.Scope off = GradMode.disable()) {
            layer.loadStateDict(state, true);
        }
        Tensor[] r = run.get();
        Tensor y = r[0];
        // a copy: y may be x itself (identity layers) and the caller closes what it gets
        INDArray out = y.value().dup();
        if (!Tape.isRecording(in)) {
            return Tensor.of(out);
        }
        List<Tensor> inner = new ArrayList<>();
        List<Integer> outer = new ArrayList<>();
        for (int i = 0; i < in.length; i++) {
            Tensor t = i < first ? r[1] : layer.namedParameters().get(keys[i - first]);
            if (in[i].requiresGrad() && t.requiresGrad()) {
                inner.add(t);
                outer.add(i);
            }
        }
        return Tape.record("layer " + layer.getClass().getSimpleName(), out, g -> {
            List<INDArray> grads = Autograd.grad(List.of(y), inner, List.of(g.out()), false);
            for (int j = 0; j < grads.size(); j++) {
                g.add(outer.get(j), grads.get(j));
            }
        }, in);
    }
}
