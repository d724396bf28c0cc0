// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Records the matrix products the ops run, their shapes and the time BLAS took, while switched on (off by
 * default: then a product costs one volatile read more). {@code spindle bench} reads it for the step's GEMM
 * FLOPs, GEMM throughput and MFU. Replica threads may record at once.
 */
public final class GemmMeter {
    private GemmMeter() {}

    /** One product: {@code batch} times op(a)·op(b) with op(a) [m, k] and op(b) [k, n], op a transpose where set. */
    public record Product(DataType dtype, long batch, long m, long n, long k, boolean ta, boolean tb) {
        public double flops() {
            return 2.0 * batch * m * n * k;
        }
    }

    /** The products recorded between {@link #start()} and {@link #stop()}, and the nanoseconds they took in all. */
    public record Reading(List<Product> products, long nanos) {
        public double flops() {
            return products.stream().mapToDouble(Product::flops).sum();
        }
    }

    private static volatile boolean on;
    private static final List<Product> products = new ArrayList<>();
    private static long nanos;

    /** Forgets what was recorded and records from now on. */
    public static synchronized void start() {
        products.clear();
        nanos = 0;
        on = true;
    }

    /** Stops recording and returns what was recorded since {@link #start()}. */
    public static synchronized Reading stop() {
        on = false;
        return new Reading(List.copyOf(products), nanos);
    }

    /** What was recorded so far, recording on. */
    public static synchronized Reading read() {
        return new Reading(List.copyOf(products), nanos);
    }

    /** The start time of a product when recording, else 0. */
    static long begin() {
        return on ? System.nanoTime() : 0;
    }

    /** Records a product that began at {@code begin} (0: not recording). */
    static void end(long begin, DataType dtype, long batch, long m, long n, long k, boolean ta, boolean tb) {
        if (begin != 0) {
            long took = System.nanoTime() - begin;
            synchronized (GemmMeter.class) {
                if (on) {
                    products.add(new Product(dtype, batch, m, n, k, ta, tb));
                    nanos += took;
                }
            }
        }
    }
}
