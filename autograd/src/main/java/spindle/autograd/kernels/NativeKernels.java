// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Spindle's own native kernels: C loops (autograd/src/main/c) compiled by gcc into libspindle_kernels.so when the
 * module builds, shipped inside the jar and called through JNI on the arrays' own buffers. They exist where a
 * per-element loop is the work: under the launcher's C1 JIT the same loop in Java is 5-8 times slower, and ND4J
 * would need a dozen ops with full-size temporaries. Each kernel keeps its Java twin, which runs when the library
 * is missing (no gcc at build time, another CPU) or switched off, and the tests hold the two to bitwise equality.
 *
 * <p>Switched off by {@code -Dspindle.native=false} or {@code SPINDLE_NATIVE=off}, and for a scope by {@link #off()}.
 */
public final class NativeKernels {
    private static final String RESOURCE = "/spindle/native/linux-x86_64/libspindle_kernels.so";
    private static final String WHY_NOT = load();
    private static volatile boolean on = WHY_NOT == null;

    private NativeKernels() {}

    /** True when the library is loaded and switched on. */
    public static boolean enabled() {
        return on;
    }

    /** Why the native kernels are not in use, or null when they are. */
    public static String whyNot() {
        return WHY_NOT != null ? WHY_NOT : on ? null : "switched off for this scope (NativeKernels.off)";
    }

    /** Switches the native kernels off until the returned scope closes (global: for tests and measurements). */
    public static SmallKernels.Scope off() {
        boolean before = on;
        on = false;
        return () -> on = before;
    }

    /** True when a is a float32 array whose values lie one after the other in c order (see {@link #dense}). */
    public static boolean denseFloats(INDArray a) {
        return a.dataType() == DataType.FLOAT && dense(a);
    }

    /**
     * True when a's values, of any dtype, lie one after the other in c order in its buffer, from its offset on (a
     * whole array, or a view of consecutive elements such as a parameter's slice of a flat gradient buffer). A view's
     * buffer (ND4J 1.0.0-M2) carries the view's offset and counts its length from there.
     */
    public static boolean dense(INDArray a) {
        return !a.wasClosed() && !a.isEmpty() && a.data() != null && a.ordering() == 'c' && cOrderStrides(a)
            && a.offset() >= 0 && a.offset() == a.data().offset() && a.data().length() >= a.length();
    }

    /**
     * True when a's strides are c order's, whatever they say for dims of size 1 (ND4J gives a fresh [8, 1, 256, 64]
     * the strides [16384, 16384, 64, 1], which Shape.hasDefaultStridesForShape refuses).
     */
    private static boolean cOrderStrides(INDArray a) {
        long expected = 1;
        for (int k = a.rank() - 1; k >= 0; k--) {
            if (a.size(k) != 1 && a.stride(k) != expected) {
                return false;
            }
            expected *= a.size(k);
        }
        return true;
    }

    /**
     * True when a is float32 with non-negative strides and every element inside its buffer, from its offset on (any
     * view: narrowed, permuted, transposed). Such an array's first element is at {@link #address}.
     */
    public static boolean stridedFloats(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.wasClosed() || a.isEmpty() || a.data() == null || a.offset() < 0
            || a.offset() != a.data().offset()) {
            return false;
        }
        long reach = 0;
        for (int k = 0; k < a.rank(); k++) {
            if (a.stride(k) < 0) {
                return false;
            }
            reach += (a.size(k) - 1) * a.stride(k);
        }
        return reach < a.data().length();
    }

    /**
     * The address of a's first element, for an array {@link #dense} or {@link #stridedFloats} accepts (a buffer's
     * address is its allocation's, whatever the view's offset).
     */
    public static long address(INDArray a) {
        return a.data().address() + a.offset() * a.data().getElementSize();
    }

    private static String load() {
        if ("false".equals(System.getProperty("spindle.native")) || "off".equals(System.getenv("SPINDLE_NATIVE"))) {
            return "switched off (-Dspindle.native=false or SPINDLE_NATIVE=off)";
        }
        if (!"amd64".equals(System.getProperty("os.arch")) || !System.getProperty("os.name").startsWith("Linux")) {
            return "built for Linux x86_64 only, this is " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch");
        }
        try (InputStream in = NativeKernels.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return "the jar has no " + RESOURCE + " (gcc was missing when the autograd module was built)";
            }
            Path file = Files.createTempFile("libspindle_kernels", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toString());
            return null;
        } catch (IOException | UnsatisfiedLinkError e) {
            return "loading " + RESOURCE + " failed: " + e;
        }
    }
}
