// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * SwiGLU's gate silu(gate) * up over float32 arrays of any size in native code (swiglu.c): the same float32
 * arithmetic in the same order as {@link GatingKernels}' float32 kernels, with the same exp ({@link FloatMath}), so
 * the results are bitwise the Java kernels'. The backward recomputes the sigmoid rather than keeping n more values.
 */
public final class NativeGating {
    private NativeGating() {}

    /** True when the native kernel can take these arrays: library on, all float32 and dense. */
    public static boolean fits(INDArray... arrays) {
        return NativeNorm.fits(arrays);
    }

    /** y = gate sigmoid(gate) up; all four arrays of gate's length. */
    public static void forward(INDArray gate, INDArray up, INDArray y) {
        long n = gate.length();
        require(gate, n, "gate");
        require(up, n, "up");
        require(y, n, "y");
        forward(NativeKernels.address(gate), NativeKernels.address(up), n, NativeKernels.address(y));
    }

    /** With s = sigmoid(gate): dup = g gate s and dgate = g up s (1 + gate (1 - s)); either may be null (not needed). */
    public static void backward(INDArray gate, INDArray up, INDArray g, INDArray dgate, INDArray dup) {
        long n = gate.length();
        require(gate, n, "gate");
        require(up, n, "up");
        require(g, n, "g");
        if (dgate != null) {
            require(dgate, n, "dgate");
        }
        if (dup != null) {
            require(dup, n, "dup");
        }
        backward(NativeKernels.address(gate), NativeKernels.address(up), NativeKernels.address(g), n,
            dgate == null ? 0 : NativeKernels.address(dgate), dup == null ? 0 : NativeKernels.address(dup));
    }

    private static void require(INDArray a, long n, String name) {
        if (!NativeKernels.denseFloats(a) || a.length() != n) {
            throw new IllegalArgumentException("NativeGating: " + name + " must be a dense float32 array of " + n
                + " values (gate's length) but is " + a.dataType() + " of " + a.length());
        }
    }

    private static native void forward(long gate, long up, long n, long y);

    private static native void backward(long gate, long up, long g, long n, long dgate, long dup);
}
