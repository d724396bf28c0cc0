// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.IdentityHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * The fake-quantized weights of one scheme, kept while they cannot change the result: a weight no gradient flows to
 * (grad mode off, as in generation, or a frozen QAT-LoRA base) is quantized once and reused until it changes. A
 * change is seen through the weight's version (optimizer steps, loading and merging go through
 * {@link Tensor#mutate}) or a new value array. While a gradient flows to the weight, the quantization (values,
 * scales and clamp mask) is likewise computed once per weight version and shared by every forward until the
 * optimizer changes the weight (the data-parallel replicas of one step, micro-batches): each forward records its
 * own straight-through node over the shared values, so each replica's tape stays its own.
 */
public final class FakeQuantWeights {
    private record Entry(INDArray value, int version, Tensor quantized) {}

    private record SharedEntry(INDArray value, int version, SharedQuantization quantized) {}

    private final QatScheme scheme;
    private final int groupSize;
    private final Map<Tensor, Entry> byWeight = new IdentityHashMap<>();
    private final Map<Tensor, SharedEntry> recordedByWeight = new IdentityHashMap<>();

    public FakeQuantWeights(QatScheme scheme, int groupSize) {
        if (scheme == null) {
            throw new IllegalArgumentException("FakeQuantWeights: scheme must not be null");
        }
        this.scheme = scheme;
        this.groupSize = groupSize;
    }

    public QatScheme scheme() {
        return scheme;
    }

    public int groupSize() {
        return groupSize;
    }

    /** The fake-quantized {@code weight} [out, in]: kept from an earlier call when nothing changed since. */
    public Tensor of(Tensor weight) {
        if (Tape.isRecording(weight)) {
            return shared(weight).over(weight).keep();   // kept: the shared values outlive one replica's graph
        }
        synchronized (byWeight) {
            Entry e = byWeight.get(weight);
            if (e != null && e.value() == weight.value() && e.version() == weight.version()) {
                return e.quantized();
            }
            Tensor quantized = scheme.fakeQuantizeWeight(weight, groupSize);
            byWeight.put(weight, new Entry(weight.value(), weight.version(), quantized));
            if (e != null) {
                Memory.release(e.quantized().value());   // stale: the weight changed between two forwards
            }
            return quantized;
        }
    }

    private SharedQuantization shared(Tensor weight) {
        synchronized (recordedByWeight) {
            SharedEntry e = recordedByWeight.get(weight);
            if (e != null && e.value() == weight.value() && e.version() == weight.version()) {
                return e.quantized();
            }
            SharedQuantization quantized = FakeQuant.weight(scheme, weight, groupSize);
            recordedByWeight.put(weight, new SharedEntry(weight.value(), weight.version(), quantized));
            if (e != null) {
                e.quantized().release();   // stale: the optimizer changed the weight since
            }
            return quantized;
        }
    }

    /** fq_act(x) fq_weight(weight)ᵀ + bias: activations are quantized for 8da4w; the weight as {@link #of}. */
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        Tensor xq = scheme.quantizesActivations() ? FakeQuant.int8PerToken(x) : x;
        return spindle.autograd.ops.Linalg.linear(xq, of(weight), bias);
    }
}
