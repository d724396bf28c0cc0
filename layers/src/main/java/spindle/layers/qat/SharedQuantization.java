// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.concurrent.atomic.AtomicLong;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;

/**
 * One fake quantization's result (values, per-block scales and clamp mask), recorded as a node over its input as
 * many times as the input is fake-quantized. Each record is a fresh straight-through node whose backward masks its
 * own upstream gradient, exactly as a separate fake quantization would, so reusing the result changes no value and
 * no gradient bit; it only skips computing the same quantization again.
 */
final class SharedQuantization {
    /** How many fake quantizations were computed (not reused); read by tests. */
    static final AtomicLong COMPUTED = new AtomicLong();

    private final String op;
    private final FakeQuantKernel kernel;

    SharedQuantization(String op, FakeQuantKernel kernel) {
        COMPUTED.incrementAndGet();
        this.op = op;
        this.kernel = kernel;
    }

    /** The fake-quantized values as the output of a new node over {@code x}, the tensor they were computed from. */
    Tensor over(Tensor x) {
        return Tape.record(op, kernel.out, g -> g.add(0, kernel.passGradient(g.out())), x);
    }

    /** True while the shared values are readable (a released graph or a stale cache may have freed them). */
    boolean isReadable() {
        return !kernel.out.wasClosed();
    }

    void release() {
        spindle.autograd.Memory.release(kernel.out);
    }
}
