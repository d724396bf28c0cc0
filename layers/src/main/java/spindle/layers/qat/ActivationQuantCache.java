// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.lang.ref.WeakReference;
import java.util.Map;
import java.util.WeakHashMap;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;

/**
 * The int8 per-token fake quantization of each activation tensor, computed once however many linears read that
 * tensor (q/k/v, gate/up, experts reading the same normalized x). Keyed by the input tensor's identity in a weak
 * map: an entry dies with its input tensor, so nothing outlives a forward, and data-parallel replicas (whose inputs
 * are their own tensors) never see each other's entries. An entry is reused only while the input still holds the
 * same value array at the same version and the shared values were not freed.
 */
final class ActivationQuantCache {
    private record Entry(WeakReference<INDArray> value, int version, SharedQuantization quantized) {}

    private static final Map<Tensor, Entry> BY_INPUT = new WeakHashMap<>();

    private ActivationQuantCache() {}

    /** The shared int8 per-token quantization of {@code x}, computed by {@code compute} when not known yet. */
    static SharedQuantization of(Tensor x, java.util.function.Supplier<SharedQuantization> compute) {
        synchronized (BY_INPUT) {
            Entry e = BY_INPUT.get(x);
            if (e != null && e.value().get() == x.value() && e.version() == x.version() && e.quantized().isReadable()) {
                return e.quantized();
            }
        }
        SharedQuantization q = compute.get();
        synchronized (BY_INPUT) {
            BY_INPUT.put(x, new Entry(new WeakReference<>(x.value()), x.version(), q));
        }
        return q;
    }
}
