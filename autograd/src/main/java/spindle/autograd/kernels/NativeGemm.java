// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Float32 matrix products in native code (gemm.c, gemm_blocked.c): c = alpha·op(a)·op(b) + beta·c on one thread.
 * Small products run here always, as BLAS's fixed cost per call (tens of microseconds: op objects, buffers, waking
 * its threads) is larger than their arithmetic (a small model's every projection and attention block); larger ones
 * while BLAS runs on one thread (the data-parallel replicas each have one core), where the blocked kernel here is
 * faster than BLAS's (a shared config's projections).
 *
 * <p>Each element of c is computed as gemm.c states (multiply-adds fused, k ascending, then alpha, then beta), so
 * a Java loop with {@link Math#fma} gives the same bits; the sums differ from BLAS's in rounding only. Float64
 * products stay on BLAS. Runs when the native kernels are on ({@link NativeKernels}), the CPU has AVX2 and FMA,
 * and {@code -Dspindle.native.gemm=false} is not set.
 */
public final class NativeGemm {
    /**
     * Products of at most this many multiply-adds per matrix (m·n·k, 2^24) run here whatever BLAS's threads.
     * Measured on 2 AVX2 cores with two callers at once (a step's replicas): 0.1-3M run 2-15x faster here than
     * through BLAS (batched ones through ND4J's Mmul op the most), 8M about 1.5x. {@code -Dspindle.native.gemm.max=N}
     * sets another bound.
     */
    public static final long SMALL = Long.getLong("spindle.native.gemm.max", 1L << 24);

    /**
     * Products of at most this many multiply-adds (2^31) run here too while BLAS runs on one thread: one core's
     * BLAS against one core's kernel, which is faster on the shared configs' products (GemmSpeed in the tests
     * measures it). BLAS on several threads keeps the products above {@link #SMALL}.
     * {@code -Dspindle.native.gemm.oneThreadMax=N} sets another bound.
     */
    public static final long ONE_THREAD_MAX = Long.getLong("spindle.native.gemm.oneThreadMax", 1L << 31);

    private static final boolean CPU = cpuFits();
    private static final boolean WANTED = !"false".equals(System.getProperty("spindle.native.gemm"));

    private static volatile boolean on = true;

    private NativeGemm() {}

    /** True when the native products run (library on, CPU fits, not switched off). */
    public static boolean enabled() {
        return CPU && WANTED && on && NativeKernels.enabled();
    }

    /** Sends every product to BLAS until the returned scope closes (global: for tests and measurements). */
    public static SmallKernels.Scope off() {
        boolean before = on;
        on = false;
        return () -> on = before;
    }

    /** Why the native products do not run, or null when they do. */
    public static String whyNot() {
        String kernels = NativeKernels.whyNot();
        return kernels != null ? kernels : !CPU ? "the CPU lacks AVX2 or FMA"
            : !WANTED ? "switched off by -Dspindle.native.gemm=false" : !on ? "switched off for this scope (NativeGemm.off)"
            : null;
    }

    /**
     * True when the native path takes a product [m, k]·[k, n] (per matrix of a batch): at most {@link #SMALL}
     * multiply-adds, or at most {@link #ONE_THREAD_MAX} while BLAS runs on one thread.
     */
    public static boolean fits(long m, long n, long k) {
        double size = (double) m * n * k;
        return size <= SMALL || size <= ONE_THREAD_MAX && Nd4j.factory().blas().getMaxThreads() == 1;
    }

    /**
     * c = alpha·op(a)·op(b) + beta·c when the native path takes these arrays, and then true; else false and
     * nothing is touched. a [..., m, k] (or [..., k, m] with {@code ta}), b [..., k, n] (or [..., n, k] with
     * {@code tb}) and c [..., m, n] are float32 with any strides that keep each matrix's rows or columns in one
     * place with a stride (a dense array, a narrowed or transposed view); the leading dims of a and of b equal c's
     * or hold one matrix, used for every one of c's. With beta 0, c's old values are not read (NaN or not).
     *
     * @throws IllegalArgumentException when the shapes do not make a product
     */
    public static boolean tryGemm(INDArray a, INDArray b, INDArray c, boolean ta, boolean tb, double alpha,
                                  double beta) {
        Plan plan = plan(a, b, ta, tb);
        GemmOperand z = plan == null || c.dataType() != DataType.FLOAT ? null : GemmOperand.of(c);
        if (z == null || !z.writable()) {
            return false;
        }
        if (z.rows() != plan.m || z.cols() != plan.n || !batchFits(plan.x, z.batch()) || !batchFits(plan.y, z.batch())) {
            throw new IllegalArgumentException("native gemm: c has shape " + Arrays.toString(c.shape()) + " but "
                + plan.describe(a, b));
        }
        plan.run(z, (float) alpha, (float) beta);
        return true;
    }

    /**
     * A fresh array holding alpha·op(a)·op(b) when the native path takes a and b (as {@link #tryGemm}; the result
     * has the leading dims of a, or of b when a holds one matrix), else null.
     */
    public static INDArray tryProduct(INDArray a, INDArray b, boolean ta, boolean tb, double alpha) {
        Plan plan = plan(a, b, ta, tb);
        if (plan == null) {
            return null;
        }
        long[] batch = plan.x.count() == 1 ? plan.y.batch() : plan.x.batch();
        long[] shape = Arrays.copyOf(batch, batch.length + 2);
        shape[batch.length] = plan.m;
        shape[batch.length + 1] = plan.n;
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, shape);
        plan.run(GemmOperand.of(c), (float) alpha, 0f);
        return c;
    }

    /** a's and b's layouts and the product's size, or null when the native path does not take them. */
    private static Plan plan(INDArray a, INDArray b, boolean ta, boolean tb) {
        if (!enabled() || a.dataType() != DataType.FLOAT || b.dataType() != DataType.FLOAT) {
            return null;
        }
        GemmOperand x = GemmOperand.of(a);
        GemmOperand y = GemmOperand.of(b);
        if (x == null || y == null) {
            return null;
        }
        Plan plan = new Plan(x, y, ta != x.transposed(), tb != y.transposed());
        if (y.rowsOf(plan.opB) != plan.k || !batchFits(x, y.batch()) && !batchFits(y, x.batch())) {
            throw new IllegalArgumentException("native gemm: " + plan.describe(a, b));
        }
        return fits(plan.m, plan.n, plan.k) ? plan : null;
    }

    private static boolean batchFits(GemmOperand operand, long[] batch) {
        return operand.count() == 1 || Arrays.equals(operand.batch(), batch);
    }

    /** A product's operands; op(x) [m, k] and op(y) [k, n] in terms of the row-major matrices stored. */
    private record Plan(GemmOperand x, GemmOperand y, boolean opA, boolean opB, long m, long n, long k) {
        Plan(GemmOperand x, GemmOperand y, boolean opA, boolean opB) {
            this(x, y, opA, opB, x.rowsOf(opA), y.colsOf(opB), x.colsOf(opA));
        }

        void run(GemmOperand z, float alpha, float beta) {
            if (gemm(x.address(), y.address(), z.address(), z.count(), m, n, k, opA, opB, x.ld(), y.ld(), z.ld(),
                stride(x), stride(y), z.batchStride(), alpha, beta) != 0) {
                throw new OutOfMemoryError("native gemm: no room for the packed operands of a [" + m + ", " + k
                    + "]·[" + k + ", " + n + "] product");
            }
        }

        String describe(INDArray a, INDArray b) {
            return "a " + Arrays.toString(a.shape()) + (opA != x.transposed() ? " transposed" : "") + " and b "
                + Arrays.toString(b.shape()) + (opB != y.transposed() ? " transposed" : "") + " make no product";
        }
    }

    /** The operand's batch stride, 0 when its one matrix serves every batch entry. */
    private static long stride(GemmOperand operand) {
        return operand.count() == 1 ? 0 : operand.batchStride();
    }

    private static boolean cpuFits() {
        NativeKernels.enabled();   // loads the library unless it is switched off for the process
        try {
            return cpuHasFma();
        } catch (UnsatisfiedLinkError e) {
            return false;   // the library is not loaded
        }
    }

    private static native boolean cpuHasFma();

    private static native int gemm(long a, long b, long c, long batch, long m, long n, long k, boolean ta, boolean tb,
                                   long lda, long ldb, long ldc, long batchA, long batchB, long batchC, float alpha,
                                   float beta);
}
