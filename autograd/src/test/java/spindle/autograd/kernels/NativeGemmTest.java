// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The native float32 gemm (gemm.c, and gemm_blocked.c above 2^24 multiply-adds) against its Java twin
 * ({@link GemmTwin}) bit for bit: every transpose, alpha and beta (beta 0 over NaN garbage in c, which must not be
 * read), sizes 1 .. 70 around the 6 x 16 tiles and large ones around the cache blocks (k split into blocks, rows
 * and columns past whole blocks and tiles), rows with a stride, column-major views, batches with a broadcast operand
 * or a narrowed one, NaN and infinities in the inputs, and nothing written outside c's view; against ND4J within
 * float32 rounding; and the cases it must refuse.
 */
class NativeGemmTest {
    private static final float[][] ALPHA_BETA = {{1, 0}, {0.37f, 0}, {1, 1}, {-1.5f, 0.3f}};
    private static final float GUARD = 12345f;   // fills the padding of c's rows: must be there after the product

    @Test
    void matricesEqualTheJavaTwinBitForBit() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(21);
        int[][] sizes = {{1, 1, 1}, {6, 16, 1}, {7, 17, 5}, {5, 15, 70}, {70, 70, 70}, {12, 32, 64}, {1, 70, 33},
            {64, 1, 9}, {13, 48, 600}};
        for (int trial = 0; trial < sizes.length + 40; trial++) {
            int[] s = trial < sizes.length ? sizes[trial]
                : new int[] {1 + rng.nextInt(70), 1 + rng.nextInt(70), 1 + rng.nextInt(70)};
            for (int t = 0; t < 4; t++) {
                float[] ab = ALPHA_BETA[(trial + t) % ALPHA_BETA.length];
                checkAgainstTwin(rng, new long[0], new long[0], s[0], s[1], s[2], t >= 2, t % 2 == 1, ab[0], ab[1]);
            }
        }
    }

    @Test
    void largeProductsEqualTheJavaTwinBitForBit() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(24);
        try (SmallKernels.Scope one = oneBlasThread()) {
            // 301 rows: 2 blocks of 144 and 13 (2 tiles and 1 row); 262 columns: 16 tiles and 6; k 517: 3 blocks
            // when A is packed (transposed), 1 when it is read in place
            for (int t = 0; t < 4; t++) {
                float[] ab = ALPHA_BETA[t];
                checkAgainstTwin(rng, new long[0], new long[0], 301, 262, 517, t >= 2, t % 2 == 1, ab[0], ab[1]);
            }
            // A read in place with k in 2 blocks; 40 rows: 6 tiles and 4 rows
            checkAgainstTwin(rng, new long[0], new long[0], 40, 400, 1100, false, false, 1f, 0f);
            checkAgainstTwin(rng, new long[0], new long[0], 40, 400, 1100, false, true, -1.5f, 0.3f);
            // more columns than one block of B (4080), k in 3 blocks, 7 rows: one tile and one row
            checkAgainstTwin(rng, new long[0], new long[0], 7, 4100, 600, false, true, 0.5f, 0f);
            checkAgainstTwin(rng, new long[0], new long[0], 7, 4100, 600, true, false, 1f, -0.75f);
            // k in 2 blocks of 1050 read in place: B blocks of 992 columns (4 MB at most)
            checkAgainstTwin(rng, new long[0], new long[0], 8, 1100, 2100, false, false, 1f, 0.5f);
            // sums kept apart from c (beta not 0, k in 2 blocks) for more than 2^20 floats: 2 blocks of rows
            checkAgainstTwin(rng, new long[0], new long[0], 2100, 520, 300, true, false, 1f, 1f);
            // a shared config's projection and its gradients' forms, k in 1 block and in 4
            checkAgainstTwin(rng, new long[0], new long[0], 1024, 136, 256, false, true, 1f, 0f);
            checkAgainstTwin(rng, new long[0], new long[0], 136, 256, 1024, true, false, 1f, 1f);
            checkAgainstTwin(rng, new long[0], new long[0], 1024, 64, 688, false, false, 1f, 1f);
            // batches: each matrix on its own, with B broadcast, and with A broadcast
            long[] batch = {2};
            checkAgainstTwin(rng, batch, batch, 260, 250, 300, false, true, 1f, 0f);
            checkAgainstTwin(rng, batch, new long[0], 260, 250, 300, true, false, 1f, 1f);
            checkAgainstTwin(rng, new long[] {1}, batch, 260, 250, 300, false, false, 0.25f, 0f);
        }
    }

    @Test
    void batchesEqualTheJavaTwinBitForBit() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(22);
        long[] batch = {2, 3};
        for (int[] s : new int[][] {{32, 32, 16}, {7, 9, 5}, {64, 48, 16}}) {
            for (int t = 0; t < 4; t++) {
                float[] ab = ALPHA_BETA[t];
                checkAgainstTwin(rng, batch, batch, s[0], s[1], s[2], t >= 2, t % 2 == 1, ab[0], ab[1]);
                checkAgainstTwin(rng, batch, new long[0], s[0], s[1], s[2], t >= 2, t % 2 == 1, 0.125f, ab[1]);
                checkAgainstTwin(rng, new long[] {1, 1}, batch, s[0], s[1], s[2], t % 2 == 1, t >= 2, 0.125f, ab[1]);
            }
        }
        // a key prefix as attention takes it: rows 0 .. 11 of [2, 3, 20, 8], a view with batch stride 160
        INDArray keys = Nd4j.create(values(rng, 2 * 3 * 20 * 8), new long[] {2, 3, 20, 8}, 'c');
        INDArray prefix = keys.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 12), NDArrayIndex.all());
        INDArray q = Nd4j.create(values(rng, 2 * 3 * 10 * 8), new long[] {2, 3, 10, 8}, 'c');
        INDArray c = Nd4j.valueArrayOf(new long[] {2, 3, 10, 12}, Float.NaN, DataType.FLOAT);
        float[] twin = GemmTwin.product(q, prefix, c, false, true, 0.25f, 0f);
        assertTrue(NativeGemm.tryGemm(q, prefix, c, false, true, 0.25, 0.0), "the native gemm takes a key prefix view");
        assertSameBits("q · prefixᵀ", twin, c.dup('c').data().asFloat());
        INDArray fresh = NativeGemm.tryProduct(q, prefix, false, true, 0.25);
        assertEquals(Arrays.toString(new long[] {2, 3, 10, 12}), Arrays.toString(fresh.shape()));
        assertSameBits("tryProduct q · prefixᵀ", twin, fresh.dup('c').data().asFloat());
    }

    @Test
    void matchesNd4jWithinFloat32Rounding() {
        requireNative();
        SplittableRandom rng = new SplittableRandom(23);
        for (int[] s : new int[][] {{64, 64, 64}, {64, 172, 64}, {172, 64, 64}, {5, 70, 33}}) {
            for (int t = 0; t < 4; t++) {
                boolean ta = t >= 2;
                boolean tb = t % 2 == 1;
                INDArray a = Nd4j.rand(DataType.FLOAT, ta ? new long[] {s[2], s[0]} : new long[] {s[0], s[2]}).subi(0.5);
                INDArray b = Nd4j.rand(DataType.FLOAT, tb ? new long[] {s[1], s[2]} : new long[] {s[2], s[1]}).subi(0.5);
                INDArray c = Nd4j.rand(DataType.FLOAT, s[0], s[1]);
                INDArray blas = c.dup();
                try (SmallKernels.Scope off = NativeKernels.off()) {
                    Nd4j.gemm(a, b, blas, ta, tb, 0.5, 1.0);
                }
                assertTrue(NativeGemm.tryGemm(a, b, c, ta, tb, 0.5, 1.0));
                assertClose(Arrays.toString(s) + " ta " + ta + " tb " + tb, blas, c, 1e-6 * s[2]);
            }
        }
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 4, 64, 16);
        INDArray y = Nd4j.rand(DataType.FLOAT, 2, 4, 64, 16);
        INDArray blas;
        try (SmallKernels.Scope off = NativeKernels.off()) {
            blas = Nd4j.exec(new Mmul(x, y, 0.25, 0.0, false, true, false))[0];
        }
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, 2, 4, 64, 64);
        assertTrue(NativeGemm.tryGemm(x, y, c, false, true, 0.25, 0.0));
        assertClose("batched scores", blas, c, 1e-6 * 16);
    }

    @Test
    void refusesWhatItCannotTakeAndRejectsShapesThatMakeNoProduct() {
        requireNative();
        INDArray a = Nd4j.rand(DataType.FLOAT, 4, 8);
        INDArray b = Nd4j.rand(DataType.FLOAT, 8, 3);
        INDArray c = Nd4j.create(DataType.FLOAT, 4, 3);
        assertFalse(NativeGemm.tryGemm(a.castTo(DataType.DOUBLE), b.castTo(DataType.DOUBLE),
            c.castTo(DataType.DOUBLE), false, false, 1, 0), "float64 stays on BLAS");
        INDArray everyOther = Nd4j.rand(DataType.FLOAT, 8, 16).get(NDArrayIndex.interval(0, 2, 8),
            NDArrayIndex.interval(0, 2, 16));
        assertFalse(NativeGemm.tryGemm(everyOther, b, c, false, false, 1, 0), "no unit stride in either dim");
        INDArray big = Nd4j.rand(DataType.FLOAT, 512, 512);
        int blasThreads = Nd4j.factory().blas().getMaxThreads();
        Nd4j.factory().blas().setMaxThreads(2);
        try {
            assertFalse(NativeGemm.fits(512, 512, 512));
            assertFalse(NativeGemm.tryGemm(big, big, Nd4j.create(DataType.FLOAT, 512, 512), false, false, 1, 0),
                "512³ multiply-adds are BLAS's while it runs on 2 threads");
        } finally {
            Nd4j.factory().blas().setMaxThreads(blasThreads);
        }
        try (SmallKernels.Scope one = oneBlasThread()) {
            assertTrue(NativeGemm.fits(512, 512, 512), "512³ runs natively while BLAS runs on one thread");
            assertFalse(NativeGemm.fits(2048, 2048, 1024), "2^32 multiply-adds stay BLAS's");
        }
        assertFalse(NativeGemm.tryGemm(a, b, Nd4j.create(DataType.FLOAT, 3, 4).transpose(), false, false, 1, 0),
            "a column-major c");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> NativeGemm.tryGemm(a, b, c, true, false, 1, 0));
        assertTrue(e.getMessage().contains("a [4, 8] transposed and b [8, 3] make no product"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NativeGemm.tryGemm(a, b, c.reshape(3, 4), false, false, 1, 0));
        assertTrue(e.getMessage().contains("c has shape [3, 4]"), e.getMessage());
    }

    /** One product of random views (rows padded, some column-major) on both paths, c's padding checked. */
    private static void checkAgainstTwin(SplittableRandom rng, long[] batchA, long[] batchB, int m, int n, int k,
                                         boolean ta, boolean tb, float alpha, float beta) {
        long[] batchC = batchA.length > 0 && LongStream.of(batchA).reduce(1, (x, y) -> x * y) > 1 ? batchA : batchB;
        INDArray a = view(rng, batchA, ta ? k : m, ta ? m : k, rng.nextInt(4), rng.nextInt(3) == 0);
        INDArray b = view(rng, batchB, tb ? n : k, tb ? k : n, rng.nextInt(4), rng.nextInt(3) == 0);
        int pad = rng.nextInt(4);
        long[] cShape = concat(batchC, new long[] {m, n + pad});
        float[] cValues = beta == 0 ? nans(cShape) : values(rng, (int) LongStream.of(cShape).reduce(1, (x, y) -> x * y));
        INDArray cFull = Nd4j.create(cValues, cShape, 'c');
        if (pad > 0) {
            cFull.get(window(batchC.length, n, n + pad)).assign(GUARD);
        }
        INDArray c = pad > 0 ? cFull.get(window(batchC.length, 0, n)) : cFull;
        float[] twin = GemmTwin.product(a, b, c, ta, tb, alpha, beta);
        String what = "batch " + Arrays.toString(batchA) + "·" + Arrays.toString(batchB) + " m " + m + " n " + n + " k "
            + k + " ta " + ta + " tb " + tb + " alpha " + alpha + " beta " + beta;
        assertTrue(NativeGemm.tryGemm(a, b, c, ta, tb, alpha, beta), what + ": the native gemm takes it");
        assertSameBits(what, twin, c.dup('c').data().asFloat());
        float[] guard = pad == 0 ? new float[0] : cFull.get(window(batchC.length, n, n + pad)).dup('c').data().asFloat();
        for (float g : guard) {
            assertEquals(GUARD, g, what + ": written outside c's view");
        }
    }

    /**
     * A [batch..., rows, cols] float32 view: the first cols of rows holding cols + pad (garbage after), or with
     * {@code columnMajor} the transpose of such a [cols, rows] view.
     */
    private static INDArray view(SplittableRandom rng, long[] batch, int rows, int cols, int pad, boolean columnMajor) {
        int outer = columnMajor ? cols : rows;
        int inner = columnMajor ? rows : cols;
        long[] shape = concat(batch, new long[] {outer, inner + pad});
        INDArray full = Nd4j.create(values(rng, (int) LongStream.of(shape).reduce(1, (x, y) -> x * y)), shape, 'c');
        INDArray v = pad == 0 ? full : full.get(window(batch.length, 0, inner));
        if (!columnMajor) {
            return v;
        }
        int[] order = new int[v.rank()];
        Arrays.setAll(order, i -> i);
        order[order.length - 2] = order.length - 1;
        order[order.length - 1] = order.length - 2;
        return v.permute(order);
    }

    private static INDArrayIndex[] window(int batchDims, long from, long to) {
        INDArrayIndex[] at = new INDArrayIndex[batchDims + 2];
        Arrays.fill(at, NDArrayIndex.all());
        at[batchDims + 1] = NDArrayIndex.interval(from, to);
        return at;
    }

    /** n random floats in [-2, 2), with infinities, NaN, zeros of both signs and subnormals sprinkled in. */
    private static float[] values(SplittableRandom rng, int n) {
        float[] edges = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, Float.MIN_VALUE, -1e-40f,
            1e30f, -1e30f};
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextInt(300) == 0 ? edges[rng.nextInt(edges.length)] : (float) rng.nextDouble(-2, 2);
        }
        return v;
    }

    private static float[] nans(long[] shape) {
        float[] v = new float[(int) LongStream.of(shape).reduce(1, (x, y) -> x * y)];
        Arrays.fill(v, Float.NaN);
        return v;
    }

    private static long[] concat(long[] a, long[] b) {
        return LongStream.concat(LongStream.of(a), LongStream.of(b)).toArray();
    }

    /** Every element's float bits alike (every NaN counted alike). */
    private static void assertSameBits(String what, float[] java, float[] nat) {
        assertEquals(java.length, nat.length, what + ": length");
        for (int i = 0; i < java.length; i++) {
            int at = i;
            assertEquals(Float.floatToIntBits(java[i]), Float.floatToIntBits(nat[i]),
                () -> what + " at " + at + ": java " + java[at] + ", native " + nat[at]);
        }
    }

    private static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        float[] e = expected.dup('c').data().asFloat();
        float[] g = actual.dup('c').data().asFloat();
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(e[i] - g[i]);
            assertTrue(err <= tol, what + " at " + i + ": ND4J " + e[i] + ", native " + g[i]);
        }
    }

    /** BLAS on one thread (as in the data-parallel trainer) until the scope closes. */
    private static SmallKernels.Scope oneBlasThread() {
        int before = Nd4j.factory().blas().getMaxThreads();
        Nd4j.factory().blas().setMaxThreads(1);
        return () -> Nd4j.factory().blas().setMaxThreads(before);
    }

    private static void requireNative() {
        NativeAttentionTest.requireNative();
        assumeTrue(NativeGemm.enabled(), "skipped: " + NativeGemm.whyNot());
    }
}
