// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

/**
 * float32 cos and sin with PyTorch's CPU results, bit for bit. On AVX2 machines torch (1.13, Debian's build
 * with SLEEF 3.5) evaluates float32 {@code Tensor.cos()} / {@code sin()} with SLEEF's 1-ulp vector functions
 * ({@code Sleef_cosf8_u10} / {@code Sleef_sinf8_u10}, FMA variant), which are not correctly rounded: about one
 * entry in ten differs by one ulp from {@code (float) Math.cos(x)}. That breaks 1e-10 parity of RoPE tables.
 *
 * <p>The algorithm, reimplemented from SLEEF's published description: reduce x by multiples of pi (pi/2 for
 * cos) in float-float arithmetic, evaluate an odd polynomial of the remainder in float-float, round once.
 * There are two reductions: a three-term Cody-Waite one when every lane of the 8-lane vector has |x| &lt; 125, and a
 * Payne-Hanek one (x times 1/(2 pi) held in four floats) otherwise. The two occasionally round differently,
 * so torch's result for an element depends on its 7 neighbours in the vector; {@link #cos(float[], int)}
 * reproduces that grouping, {@link #cos(float)} is a one-element tensor. Supports |x| &lt; 2^26 (the first row
 * of SLEEF's 2/pi table), which covers RoPE angles of up to 67 million positions.
 */
final class TorchFloat32Trig {
    /** Vector width of torch's AVX2 float kernels. */
    private static final int LANES = 8;
    /** Grain size of torch's float unary kernels: tensors this short stay on one thread. */
    private static final int GRAIN = 2048;
    /** SLEEF's TRIGRANGEMAX2f: the Cody-Waite reduction is used when all lanes are below it. */
    private static final float SMALL = 125f;
    /** Beyond this the Payne-Hanek reduction needs later rows of the 2/pi table, which are not implemented. */
    private static final float LIMIT = 0x1p26f;

    private static final float ONE_OVER_PI = (float) 0.318309886183790671537767526745028724;
    // pi split so that multiples by small integers are exact (PI_A2f, PI_B2f, PI_C2f)
    private static final float PI_A = 3.1414794921875f;
    private static final float PI_B = 0.00011315941810607910156f;
    private static final float PI_C = 1.9841872589410058936e-09f;
    // float pi and the rest of pi below it
    private static final float PI_HI = 3.1415927410125732422f;
    private static final float PI_LO = -8.7422776573475857731e-08f;
    // 1/(2 pi) in four floats: each the nearest float of the rest with its two lowest bits cleared
    private static final float INV_2PI_0 = Float.intBitsToFloat(0x3e22f980);
    private static final float INV_2PI_1 = Float.intBitsToFloat(0x335b9390);
    private static final float INV_2PI_2 = Float.intBitsToFloat(0x2782a540);
    private static final float INV_2PI_3 = Float.intBitsToFloat(0x9b762a0c);
    // minimax polynomial of sin(s)/s - 1 in s^2, as SLEEF's sinf_u1
    private static final float C7 = 2.6083159809786593541503e-06f;
    private static final float C5 = -0.0001981069071916863322258f;
    private static final float C3 = 0.00833307858556509017944336f;
    private static final float C1 = -0.166666597127914428710938f;

    private TorchFloat32Trig() {}

    /** torch.cos of a one-element float32 tensor holding x (|x| &lt; 2^26; NaN for infinite or NaN x). */
    public static float cos(float x) {
        return cos(x, Math.abs(x) < SMALL);
    }

    /** torch.sin of a one-element float32 tensor holding x (|x| &lt; 2^26; NaN for infinite or NaN x). */
    public static float sin(float x) {
        return sin(x, Math.abs(x) < SMALL);
    }

    /**
     * torch.cos of a contiguous float32 tensor holding {@code angles} in this order, computed with
     * {@code threads} intra-op threads (torch.get_num_threads()): each thread's chunk is split into 8-lane
     * vectors from its start, and a vector's lanes share one argument reduction.
     */
    public static float[] cos(float[] angles, int threads) {
        return apply(angles, threads, true);
    }

    /** torch.sin of a contiguous float32 tensor; see {@link #cos(float[], int)}. */
    public static float[] sin(float[] angles, int threads) {
        return apply(angles, threads, false);
    }

    private static float[] apply(float[] x, int threads, boolean cos) {
        if (x == null || threads < 1) {
            throw new IllegalArgumentException("TorchFloat32Trig: angles must not be null and threads must be "
                + "positive but threads is " + threads);
        }
        int n = x.length;
        float[] out = new float[n];
        // at::parallel_for: tasks = min(threads, ceil(n / grain)), each a contiguous chunk of ceil(n / tasks)
        int tasks = n < GRAIN || threads == 1 ? 1 : Math.min(threads, (n + GRAIN - 1) / GRAIN);
        int chunk = Math.max(1, (n + tasks - 1) / tasks);
        for (int begin = 0; begin < n; begin += chunk) {
            int end = Math.min(n, begin + chunk);
            for (int v = begin; v < end; v += LANES) {
                int vEnd = Math.min(end, v + LANES);
                boolean small = true; // a short last vector is padded with zeros, which are small
                for (int i = v; i < vEnd; i++) {
                    small &= Math.abs(x[i]) < SMALL;
                }
                for (int i = v; i < vEnd; i++) {
                    out[i] = cos ? cos(x[i], small) : sin(x[i], small);
                }
            }
        }
        return out;
    }

    private static float cos(float d, boolean small) {
        float hi;
        float lo;
        int q;
        if (small) {
            // nearest odd multiple of pi/2: dq = 2 * rint(d / pi - 1/2) + 1
            float dq = Math.fma(rint(Math.fma(d, ONE_OVER_PI, -0.5f)), 2f, 1f);
            q = (int) rint(dq);
            Df s = add2(d, dq * (-PI_A * 0.5f));
            s = add2(s, dq * (-PI_B * 0.5f));
            s = add2(s, dq * (-PI_C * 0.5f));
            hi = s.hi;
            lo = s.lo;
        } else {
            Reduced r = reduce(d);
            if (r == null) {
                return Float.NaN;
            }
            q = ((r.q & 3) * 2 + (r.x.hi > 0 ? 8 : 7)) >> 1;
            Df x = r.x;
            if ((r.q & 1) == 0) {
                float sign = r.x.hi > 0 ? 1f : -1f; // shift by -pi/2 or +pi/2 towards zero
                x = add2(x, new Df(-sign * PI_HI * 0.5f, -sign * PI_LO * 0.5f));
            }
            Df s = normalize(x);
            hi = s.hi;
            lo = s.lo;
        }
        float u = polynomial(new Df(hi, lo));
        return (q & 2) == 0 ? -u : u;
    }

    private static float sin(float d, boolean small) {
        float hi;
        float lo;
        int q;
        if (small) {
            float k = rint(d * ONE_OVER_PI);
            q = (int) k;
            Df s = add2(Math.fma(k, -PI_A, d), k * -PI_B);
            s = addFast(s, k * -PI_C);
            hi = s.hi;
            lo = s.lo;
        } else {
            Reduced r = reduce(d);
            if (r == null) {
                return Float.NaN;
            }
            q = ((r.q & 3) * 2 + (r.x.hi > 0 ? 2 : 1)) >> 2;
            Df x = r.x;
            if ((r.q & 1) == 1) {
                // sign bit, not a comparison: -0 counts as negative here
                float sign = Float.floatToRawIntBits(r.x.hi) < 0 ? -1f : 1f;
                x = add2(x, new Df(sign * PI_HI * -0.5f, sign * PI_LO * -0.5f));
            }
            Df s = normalize(x);
            hi = s.hi;
            lo = s.lo;
        }
        float u = polynomial(new Df(hi, lo));
        u = (q & 1) == 1 ? -u : u;
        return Float.floatToRawIntBits(d) == 0x80000000 ? d : u;
    }

    /** sin(t) for the reduced argument t in float-float, rounded once. */
    private static float polynomial(Df t) {
        Df s = square(t);
        float u = Math.fma(Math.fma(C7, s.hi, C5), s.hi, C3);
        Df c = addFast(1f, mul(addFast(C1, u * s.hi), s));
        return Math.fma(t.hi, c.hi, Math.fma(t.lo, c.hi, t.hi * c.lo));
    }

    /**
     * Payne-Hanek: a / (2 pi) minus its nearest multiple of 1/4, times 2 pi, in float-float, with the number of
     * quarter turns; null for infinite or NaN a.
     */
    private static Reduced reduce(float a) {
        if (!Float.isFinite(a)) {
            return null;
        }
        if (Math.abs(a) >= LIMIT) {
            throw new IllegalArgumentException("TorchFloat32Trig: |x| must be below 2^26 but x is " + a);
        }
        Df x = mulExact(a, INV_2PI_0);
        int q = quarters(x.hi);
        x = normalize(new Df(x.hi - rint(x.hi * 4) * 0.25f, x.lo));
        x = add2(x, mulExact(a, INV_2PI_1));
        q += quarters(x.hi);
        x = normalize(new Df(x.hi - rint(x.hi * 4) * 0.25f, x.lo));
        x = add2(x, mul(new Df(INV_2PI_2, INV_2PI_3), a));
        x = normalize(x);
        x = mul(x, new Df(PI_HI * 2, PI_LO * 2));
        return new Reduced(Math.abs(a) < 0.7f ? new Df(a, 0f) : x, q);
    }

    /** Quarter turns in x beyond whole turns: rint(4x) - 4 rint(x). */
    private static int quarters(float x) {
        return (int) (rint(x * 4) - rint(x) * 4);
    }

    private static float rint(float x) {
        return (float) Math.rint(x);
    }

    // float-float arithmetic, each step exactly as SLEEF's FMA variant orders it

    private static Df normalize(Df t) {
        float hi = t.hi + t.lo;
        return new Df(hi, (t.hi - hi) + t.lo);
    }

    private static Df add2(float x, float y) {
        float hi = x + y;
        float v = hi - x;
        return new Df(hi, (x - (hi - v)) + (y - v));
    }

    private static Df add2(Df x, float y) {
        float hi = x.hi + y;
        float v = hi - x.hi;
        return new Df(hi, ((x.hi - (hi - v)) + (y - v)) + x.lo);
    }

    private static Df add2(Df x, Df y) {
        float hi = x.hi + y.hi;
        float v = hi - x.hi;
        return new Df(hi, ((x.hi - (hi - v)) + (y.hi - v)) + (x.lo + y.lo));
    }

    /** x + y for |x| &gt;= |y|. */
    private static Df addFast(Df x, float y) {
        float hi = x.hi + y;
        return new Df(hi, ((x.hi - hi) + y) + x.lo);
    }

    private static Df addFast(float x, float y) {
        float hi = x + y;
        return new Df(hi, (x - hi) + y);
    }

    private static Df addFast(float x, Df y) {
        float hi = x + y.hi;
        return new Df(hi, ((x - hi) + y.hi) + y.lo);
    }

    private static Df mulExact(float x, float y) {
        float hi = x * y;
        return new Df(hi, Math.fma(x, y, -hi));
    }

    private static Df mul(Df x, float y) {
        float hi = x.hi * y;
        return new Df(hi, Math.fma(x.lo, y, Math.fma(x.hi, y, -hi)));
    }

    private static Df mul(Df x, Df y) {
        float hi = x.hi * y.hi;
        return new Df(hi, Math.fma(x.hi, y.lo, Math.fma(x.lo, y.hi, Math.fma(x.hi, y.hi, -hi))));
    }

    private static Df square(Df x) {
        float hi = x.hi * x.hi;
        return new Df(hi, Math.fma(x.hi + x.hi, x.lo, Math.fma(x.hi, x.hi, -hi)));
    }

    /** An unevaluated sum hi + lo of two floats. */
    private record Df(float hi, float lo) {}

    /** A reduced argument and its count of quarter turns. */
    private record Reduced(Df x, int q) {}
}
