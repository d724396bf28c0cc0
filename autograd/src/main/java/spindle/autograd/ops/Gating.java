// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import spindle.autograd.Memory;
import spindle.autograd.Tape;
import spindle.autograd.Tensor;
import spindle.autograd.kernels.Dense;
import spindle.autograd.kernels.NativeGating;
import spindle.autograd.kernels.NativeKernels;
import spindle.autograd.kernels.GatingKernels;
import spindle.autograd.kernels.SmallKernels;

/** Gated linear units of feed-forward blocks, each one fused node with a hand-written backward. */
public final class Gating {
    private Gating() {}

    /**
     * SwiGLU's gate, silu(gate) * up, for gate and up of the same shape (Llama's act_fn(gate_proj(x)) * up_proj(x)).
     * With s = sigmoid(gate): d/dup = g gate s, d/dgate = g up s (1 + gate (1 - s)). Only s is saved.
     */
    public static Tensor swiglu(Tensor gate, Tensor up) {
        if (!Arrays.equals(gate.shape(), up.shape())) {
            throw new IllegalArgumentException("swiglu: gate has shape " + Arrays.toString(gate.shape())
                + " but up has shape " + Arrays.toString(up.shape()) + "; they must be equal");
        }
        if (gate.dtype() != up.dtype()) {
            throw new IllegalArgumentException("swiglu: gate is " + gate.dtype() + " but up is " + up.dtype());
        }
        if (NativeGating.fits(gate.value(), up.value())) {
            return nativeSwiglu(gate, up);
        }
        if (SmallKernels.fit(gate.value(), up.value())) {
            return smallSwiglu(gate, up);
        }
        INDArray s = Transforms.sigmoid(gate.value(), true);
        INDArray y = gate.value().mul(s).muli(up.value());
        return Tape.record("swiglu", y, new INDArray[] {s}, g -> {
            if (g.needs(1)) {
                g.add(1, gate.value().mul(s).muli(g.out()));
            }
            if (g.needs(0)) {
                g.add(0, s.rsub(1).muli(gate.value()).addi(1).muli(s).muli(up.value()).muli(g.out()));
            }
        }, gate, up);
    }

    /** swiglu in native code for float32 of any size (in float32), bitwise the Java kernels' values; nothing is saved. */
    private static Tensor nativeSwiglu(Tensor gate, Tensor up) {
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, gate.shape());
        NativeGating.forward(gate.value(), up.value(), y);
        return Tape.record("swiglu", y, g -> {
            INDArray go = NativeKernels.denseFloats(g.out()) ? g.out() : g.out().dup('c');
            INDArray dgate = g.needs(0) ? Nd4j.createUninitialized(DataType.FLOAT, gate.shape()) : null;
            INDArray dup = g.needs(1) ? Nd4j.createUninitialized(DataType.FLOAT, up.shape()) : null;
            NativeGating.backward(gate.value(), up.value(), go, dgate, dup);
            if (go != g.out()) {
                Memory.release(go);
            }
            if (dgate != null) {
                g.add(0, dgate);
            }
            if (dup != null) {
                g.add(1, dup);
            }
        }, gate, up);
    }

    /**
     * swiglu through its Java kernels: one pass forward, one backward for both gradients; s kept in Java. Float32 is
     * computed in float32 (as the native kernel), float64 in float64.
     */
    private static Tensor smallSwiglu(Tensor gate, Tensor up) {
        int n = (int) gate.value().length();
        double[] y = Dense.scratch(2, n);
        double[] s = new double[n];
        boolean float32 = gate.dtype() == DataType.FLOAT;   // computed in float32 then, as the native kernel
        if (float32) {
            GatingKernels.swigluForwardFloat32(Dense.read(gate.value(), 0), Dense.read(up.value(), 1), n, y, s);
        } else {
            GatingKernels.swigluForward(Dense.read(gate.value(), 0), Dense.read(up.value(), 1), n, y, s);
        }
        return Tape.record("swiglu", Dense.array(y, gate.dtype(), gate.shape()), g -> {
            double[] dgate = g.needs(0) ? Dense.scratch(3, n) : null;
            double[] dup = g.needs(1) ? Dense.scratch(4, n) : null;
            double[] gv = Dense.read(gate.value(), 0);
            double[] uv = Dense.read(up.value(), 1);
            if (float32) {
                GatingKernels.swigluBackwardFloat32(gv, uv, s, Dense.read(g.out(), 2), n, dgate, dup);
            } else {
                GatingKernels.swigluBackward(gv, uv, s, Dense.read(g.out(), 2), n, dgate, dup);
            }
            if (dgate != null) {
                g.add(0, Dense.arrayLike(dgate, gate.value()));
            }
            if (dup != null) {
                g.add(1, Dense.arrayLike(dup, up.value()));
            }
        }, gate, up);
    }
}
