// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * attention_fused.c's forward and backward against their Java twin ({@link FusedAttentionTwin}), bit for bit, on
 * multi-head, grouped-query, multi-query and MLA-like head shapes, decode-like Tq < Tk, odd sizes, and sizes above
 * the Java kernels' 32,768-element limit; inputs are the heads' transposed views (as the layers pass them) with edge
 * values sprinkled in (infinities, NaN, signed zeros, subnormals, huge values).
 */
class FusedAttentionTest {
    /** {B, H, Hkv, Tq, Tk, D, Dv}. */
    private static final long[][] SIZES = {
        {4, 4, 4, 32, 32, 16, 16},    // small-mha
        {4, 4, 2, 32, 32, 16, 16},    // grouped-query
        {4, 4, 1, 32, 32, 16, 16},    // multi-query
        {4, 4, 4, 48, 48, 24, 16},    // MLA: nope + rope query/key width, a narrower value
        {2, 6, 3, 3, 10, 5, 7},       // a decode-like step, odd widths
        {1, 2, 1, 1, 1, 1, 1},
        {3, 3, 3, 13, 13, 17, 33},
        {2, 4, 2, 96, 96, 40, 24},    // P [2, 4, 96, 96]: 73,728 elements
        {2, 4, 2, 70, 70, 12, 20},    // a group's row blocks of four straddle its heads
        {1, 3, 1, 37, 50, 9, 17},     // a prefill after 13 cached keys
    };

    @Test
    void forwardAndBackwardEqualTheJavaTwinBitForBit() {
        NativeAttentionTest.requireNative();
        SplittableRandom rng = new SplittableRandom(21);
        for (long[] s : SIZES) {
            for (boolean edges : new boolean[] {false, true}) {
                String what = Arrays.toString(s) + (edges ? " with edge values" : "");
                INDArray q = heads(rng, s[0], s[3], s[1], s[5], edges);
                INDArray k = heads(rng, s[0], s[4], s[2], s[5], edges);
                INDArray v = heads(rng, s[0], s[4], s[2], s[6], edges);
                INDArray dO = heads(rng, s[0], s[3], s[1], s[6], edges);
                float scale = (float) (1 / Math.sqrt(s[5]));
                assertTrue(FusedAttention.fits(q, k, v), what + ": the fused kernel takes the transposed views");
                INDArray[] nat = FusedAttention.forward(q, k, v, scale);
                INDArray[] grads = FusedAttention.backward(q, k, v, nat[0], dO, nat[1], scale);
                FusedAttentionTwin twin = new FusedAttentionTwin(s);
                float[][] fwd = twin.forward(flat(q), flat(k), flat(v), scale);
                float[][] bwd = twin.backward(flat(q), flat(k), flat(v), fwd[0], flat(dO), fwd[1], scale);
                assertSameBits(what + " output", fwd[0], nat[0]);
                assertSameBits(what + " P", fwd[1], nat[1]);
                assertSameBits(what + " dq", bwd[0], grads[0]);
                assertSameBits(what + " dk", bwd[1], grads[1]);
                assertSameBits(what + " dv", bwd[2], grads[2]);
            }
        }
    }

    @Test
    void noQueryReadsAKeyAfterItsPosition() {
        NativeAttentionTest.requireNative();
        SplittableRandom rng = new SplittableRandom(24);
        long tq = 9;
        INDArray q = heads(rng, 2, tq, 4, 8, false);
        INDArray k = heads(rng, 2, tq, 2, 8, false);
        INDArray v = heads(rng, 2, tq, 2, 8, false);
        INDArray dO = heads(rng, 2, tq, 4, 8, false);
        for (INDArray a : new INDArray[] {k, v}) {   // the last key and value hold NaN and infinity
            a.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(tq - 1), NDArrayIndex.all()).assign(Float.NaN);
            a.putScalar(new long[] {0, 0, tq - 1, 0}, Float.POSITIVE_INFINITY);
        }
        INDArray[] out = FusedAttention.forward(q, k, v, 0.3);
        INDArray[] grads = FusedAttention.backward(q, k, v, out[0], dO, out[1], 0.3);
        for (INDArray a : new INDArray[] {out[0], out[1], grads[0]}) {   // the queries before the last position
            INDArray earlier = a.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, tq - 1),
                NDArrayIndex.all());
            for (float x : flat(earlier)) {
                assertTrue(Float.isFinite(x), "the output, P and dq of the earlier queries are finite: " + earlier);
            }
        }
    }

    @Test
    void outputAndGradientsAreLaidOutAsTheInputs() {
        NativeAttentionTest.requireNative();
        SplittableRandom rng = new SplittableRandom(23);
        INDArray q = heads(rng, 2, 8, 4, 16, false);                   // [B, T, H, D] in memory
        INDArray k = heads(rng, 2, 8, 2, 16, false).dup('c');         // dense [B, Hkv, T, D]
        INDArray v = heads(rng, 2, 8, 2, 8, false);
        INDArray[] out = FusedAttention.forward(q, k, v, 0.25);
        INDArray[] grads = FusedAttention.backward(q, k, v, out[0], out[0], out[1], 0.25);
        assertEquals(Arrays.toString(new long[] {8 * 4 * 8, 8, 4 * 8, 1}), Arrays.toString(out[0].stride()),
            "out as v: [B, T, H, Dv] in memory");
        assertEquals(Arrays.toString(q.stride()), Arrays.toString(grads[0].stride()), "dq");
        assertEquals(Arrays.toString(k.stride()), Arrays.toString(grads[1].stride()), "dk");
        assertEquals(Arrays.toString(v.stride()), Arrays.toString(grads[2].stride()), "dv");
    }

    @Test
    void mismatchedShapesAreRefusedWithTheShapes() {
        NativeAttentionTest.requireNative();
        SplittableRandom rng = new SplittableRandom(22);
        INDArray q = heads(rng, 2, 4, 3, 8, false);   // 3 query heads over 2 key/value heads
        INDArray k = heads(rng, 2, 4, 2, 8, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> FusedAttention.forward(q, k, k, 0.5));
        assertTrue(e.getMessage().contains("[2, 3, 4, 8]"), e.getMessage());
    }

    /** [B, T, H, D] random values viewed as [B, H, T, D], as the layers' heads are. */
    private static INDArray heads(SplittableRandom rng, long b, long t, long h, long d, boolean edges) {
        int n = (int) (b * t * h * d);
        float[] v = new float[n];
        float[] special = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, Float.MIN_VALUE,
            -1e-40f, 1e30f, -1e30f, 60f, -90f};
        for (int i = 0; i < n; i++) {
            v[i] = edges && rng.nextInt(300) == 0 ? special[rng.nextInt(special.length)] : (float) rng.nextDouble(-2, 2);
        }
        return Nd4j.create(v, new long[] {b, t, h, d}, 'c').permute(0, 2, 1, 3);
    }

    private static float[] flat(INDArray a) {
        return a.dup('c').data().asFloat();
    }

    private static void assertSameBits(String what, float[] java, INDArray nat) {
        float[] n = flat(nat);
        assertEquals(java.length, n.length, what + ": length");
        for (int i = 0; i < n.length; i++) {
            if (Float.floatToIntBits(java[i]) != Float.floatToIntBits(n[i])) {
                throw new AssertionError(what + " differs at flat index " + i + ": Java " + java[i] + ", native " + n[i]);
            }
        }
    }
}
