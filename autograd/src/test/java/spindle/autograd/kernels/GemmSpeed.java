// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A rerunnable speed table, not a test: GFLOP/s of the native gemm and of BLAS ({@code Nd4j.gemm}, one thread) on
 * the shared configs' products (tokens x hidden 256, kv 128, intermediate 688, vocab 512, and their backward
 * forms; tiny-deepseek's MLA projections), each run by two threads at once, one per core, as the trainer's two
 * replicas run them, the native gemm and BLAS alternating in each thread. Prints the median and the best of both
 * threads' rounds, each timed in the thread's CPU time. Run with the test classpath:
 * {@code java -cp ... spindle.autograd.kernels.GemmSpeed [rounds] [tokens]}.
 */
public final class GemmSpeed {
    /** m, n, k, ta, tb, beta of one product; the names say which step of a Linear layer makes it. */
    private record Shape(String name, int m, int n, int k, boolean ta, boolean tb, float beta) {
        double flops() {
            return 2.0 * m * n * k;
        }
    }

    /** Times are the thread's CPU time: on a machine shared with other work, time spent preempted is not counted. */
    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    private GemmSpeed() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        Nd4j.factory().blas().setMaxThreads(1);   // as the trainer's replicas: the native gemm takes every product
        if (!NativeGemm.enabled()) {
            throw new IllegalStateException("native gemm off: " + NativeGemm.whyNot());
        }
        System.out.printf(Locale.ROOT, "%-34s %5s %5s %5s | %7s %7s %6s | %7s %7s%n", "product", "m", "n", "k",
            "native", "blas", "ratio", "best n", "best b");
        for (Shape s : shapes(tokens)) {
            double[][] rates = rates(s, rounds);   // [native, blas][median, best]
            System.out.printf(Locale.ROOT, "%-34s %5d %5d %5d | %7.1f %7.1f %6.2f | %7.1f %7.1f%n", s.name(), s.m(),
                s.n(), s.k(), rates[0][0], rates[1][0], rates[0][0] / rates[1][0], rates[0][1], rates[1][1]);
        }
    }

    private static Shape[] shapes(int t) {
        return new Shape[] {
            new Shape("x·Wᵀ q/o  [t,256]·[256,256]ᵀ", t, 256, 256, false, true, 0f),
            new Shape("x·Wᵀ k/v  [t,256]·[128,256]ᵀ", t, 128, 256, false, true, 0f),
            new Shape("x·Wᵀ up   [t,256]·[688,256]ᵀ", t, 688, 256, false, true, 0f),
            new Shape("x·Wᵀ down [t,688]·[256,688]ᵀ", t, 256, 688, false, true, 0f),
            new Shape("x·Wᵀ head [t,256]·[512,256]ᵀ", t, 512, 256, false, true, 0f),
            new Shape("g·W  q/o  [t,256]·[256,256] +=", t, 256, 256, false, false, 1f),
            new Shape("g·W  k/v  [t,128]·[128,256] +=", t, 256, 128, false, false, 1f),
            new Shape("g·W  up   [t,688]·[688,256] +=", t, 256, 688, false, false, 1f),
            new Shape("g·W  down [t,256]·[256,688]", t, 688, 256, false, false, 0f),
            new Shape("g·W  head [t,512]·[512,256]", t, 256, 512, false, false, 0f),
            new Shape("gᵀ·x q/o  [t,256]ᵀ·[t,256] +=", 256, 256, t, true, false, 1f),
            new Shape("gᵀ·x k/v  [t,128]ᵀ·[t,256] +=", 128, 256, t, true, false, 1f),
            new Shape("gᵀ·x up   [t,688]ᵀ·[t,256] +=", 688, 256, t, true, false, 1f),
            new Shape("gᵀ·x down [t,256]ᵀ·[t,688] +=", 256, 688, t, true, false, 1f),
            new Shape("gᵀ·x head [t,512]ᵀ·[t,256] +=", 512, 256, t, true, false, 1f),
            new Shape("MLA q_a   [t,256]·[96,256]ᵀ", t, 96, 256, false, true, 0f),
            new Shape("MLA q_b   [t,96]·[384,96]ᵀ", t, 384, 96, false, true, 0f),
            new Shape("MLA kv_a  [t,256]·[80,256]ᵀ", t, 80, 256, false, true, 0f),
            new Shape("MLA kv_b  [t,64]·[512,64]ᵀ", t, 512, 64, false, true, 0f),
            new Shape("MLA kv_b  g·W [t,512]·[512,64] +=", t, 64, 512, false, false, 1f),
            new Shape("MLA kv_b  gᵀ·x [t,512]ᵀ·[t,64] +=", 512, 64, t, true, false, 1f),
            new Shape("MLA q_b   gᵀ·x [t,384]ᵀ·[t,96] +=", 384, 96, t, true, false, 1f),
        };
    }

    /**
     * GFLOP/s of two threads running s at once, `rounds` times each, the native gemm and BLAS alternating in each
     * thread (so both see the same load): [native, blas][median, best].
     */
    private static double[][] rates(Shape s, int rounds) throws Exception {
        double[][][] seconds = new double[2][2][rounds];   // [thread][native, blas][round]
        CyclicBarrier start = new CyclicBarrier(2);
        Thread[] threads = new Thread[2];
        Exception[] failure = new Exception[1];
        for (int t = 0; t < 2; t++) {
            int id = t;
            threads[t] = new Thread(() -> {
                try {
                    run(s, seconds[id], start);
                } catch (Exception e) {
                    failure[0] = e;
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        double[][] rates = new double[2][];
        for (int path = 0; path < 2; path++) {
            int p = path;
            double[] all = Arrays.stream(seconds).flatMapToDouble(t -> Arrays.stream(t[p])).sorted().toArray();
            rates[path] = new double[] {s.flops() / all[all.length / 2] / 1e9, s.flops() / all[0] / 1e9};
        }
        return rates;
    }

    private static void run(Shape s, double[][] seconds, CyclicBarrier start) throws Exception {
        INDArray a = Nd4j.rand(DataType.FLOAT, s.ta() ? new long[] {s.k(), s.m()} : new long[] {s.m(), s.k()});
        INDArray b = Nd4j.rand(DataType.FLOAT, s.tb() ? new long[] {s.n(), s.k()} : new long[] {s.k(), s.n()});
        INDArray c = Nd4j.rand(DataType.FLOAT, s.m(), s.n());
        for (int warm = 0; warm < 3; warm++) {
            product(a, b, c, s, true);
            product(a, b, c, s, false);
        }
        start.await();
        for (int r = 0; r < seconds[0].length; r++) {
            for (int i = 0; i < 2; i++) {
                int path = (r + i) % 2;   // which goes first alternates
                long begin = CPU.getCurrentThreadCpuTime();
                product(a, b, c, s, path == 0);
                seconds[path][r] = (CPU.getCurrentThreadCpuTime() - begin) * 1e-9;
            }
        }
    }

    private static void product(INDArray a, INDArray b, INDArray c, Shape s, boolean nativeGemm) {
        if (!nativeGemm) {
            Nd4j.gemm(a, b, c, s.ta(), s.tb(), 1.0, s.beta());
        } else if (!NativeGemm.tryGemm(a, b, c, s.ta(), s.tb(), 1.0, s.beta())) {
            throw new IllegalStateException("the native gemm refused " + s.name());
        }
    }
}
