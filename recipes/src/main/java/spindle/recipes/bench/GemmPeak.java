// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import spindle.autograd.ops.GemmMeter.Product;

/**
 * The GEMM limit of a step: its products (the shapes {@link spindle.autograd.ops.GemmMeter} recorded) replayed
 * back to back through {@link Nd4j#gemm} on preallocated operands, each shape's best time of a few tries, with
 * the step's parallelism ({@code replicas} streams side by side, each on threads / replicas BLAS threads). A
 * batched product is replayed as its matrices one by one, so the limit does not include ND4J's per-call cost.
 */
final class GemmPeak {
    private GemmPeak() {}

    /** GFLOP/s of the step's products at the limit; {@code products} are one step's, all replicas' together. */
    static double gflopsPerSecond(List<Product> products, int threads, int replicas) throws Exception {
        Map<Product, Integer> counts = new LinkedHashMap<>();
        products.forEach(p -> counts.merge(p, 1, Integer::sum));
        Map<Product, Double> best = new LinkedHashMap<>();
        int blasBefore = Nd4j.factory().blas().getMaxThreads();
        int perReplica = Math.max(1, threads / replicas);
        Nd4j.factory().blas().setMaxThreads(perReplica);
        ExecutorService pool = Executors.newFixedThreadPool(replicas);
        try {
            for (Product p : counts.keySet()) {   // the replicas time the same shape at once, as they run in a step
                List<Future<Double>> each = new ArrayList<>();
                for (int r = 0; r < replicas; r++) {
                    each.add(pool.submit(() -> {
                        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(perReplica);
                        return secondsPerProduct(p);
                    }));
                }
                double worst = 0;
                for (Future<Double> f : each) {
                    worst = Math.max(worst, f.get());
                }
                best.put(p, worst);
            }
        } finally {
            pool.shutdown();
            Nd4j.factory().blas().setMaxThreads(blasBefore);
        }
        double flops = 0;
        double seconds = 0;
        for (Map.Entry<Product, Integer> e : counts.entrySet()) {
            flops += e.getKey().flops() * e.getValue();
            seconds += best.get(e.getKey()) * e.getValue() / replicas;   // the replicas split the step's products
        }
        return flops / seconds / 1e9;
    }

    /** The best of 5 timings of one product, each over as many repetitions as fit in about 2 ms. */
    private static double secondsPerProduct(Product p) {
        INDArray a = Nd4j.rand(p.dtype(), p.ta() ? p.k() : p.m(), p.ta() ? p.m() : p.k());
        INDArray b = Nd4j.rand(p.dtype(), p.tb() ? p.n() : p.k(), p.tb() ? p.k() : p.n());
        INDArray c = Nd4j.createUninitialized(p.dtype(), p.m(), p.n());
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 6; round++) {   // the first round warms up
            long t0 = System.nanoTime();
            long elapsed;
            int reps = 0;
            do {
                Nd4j.gemm(a, b, c, p.ta(), p.tb(), 1.0, 0.0);
                reps++;
                elapsed = System.nanoTime() - t0;
            } while (elapsed < 2_000_000);
            if (round > 0) {
                best = Math.min(best, elapsed / 1e9 / reps);
            }
        }
        a.close();
        b.close();
        c.close();
        return best * p.batch();
    }
}
