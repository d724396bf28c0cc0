// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import spindle.testing.PyTorch;

/** TorchFloat32Trig against torch's float32 cos/sin bit for bit (RoPE tables, random angles), and its limits. */
class TorchFloat32TrigTest {
    private static final Path SCRIPT = Path.of("src", "test", "python", "torch_trig.py");

    @Test
    void equalsTorchBitForBit() throws IOException {
        Optional<String> why = PyTorch.unavailable(null);
        assumeTrue(why.isEmpty(), () -> "PyTorch check skipped: " + why.orElseThrow());
        Path out = Files.createTempFile("spindle-trig", ".bin");
        try {
            PyTorch.run(SCRIPT, 300, out.toString());
            List<String> errors = new ArrayList<>();
            long checked = 0;
            long grouped = 0;
            long chunked = 0;
            for (Case c : read(out)) {
                float[] cos = c.threads == 0 ? each(c.angles, true) : TorchFloat32Trig.cos(c.angles, c.threads);
                float[] sin = c.threads == 0 ? each(c.angles, false) : TorchFloat32Trig.sin(c.angles, c.threads);
                float[] cosAlone = each(c.angles, true);
                float[] cosSerial = TorchFloat32Trig.cos(c.angles, 1);
                for (int i = 0; i < c.angles.length; i++) {
                    compare("cos", c, i, c.cos[i], cos[i], errors);
                    compare("sin", c, i, c.sin[i], sin[i], errors);
                    // entries where the 8-lane grouping changes the result (reported, not asserted)
                    grouped += Float.floatToIntBits(cosAlone[i]) != Float.floatToIntBits(c.cos[i]) ? 1 : 0;
                    // and where the threads' chunk boundaries do
                    chunked += Float.floatToIntBits(cosSerial[i]) != Float.floatToIntBits(c.cos[i]) ? 1 : 0;
                }
                checked += 2L * c.angles.length;
            }
            System.out.println("TorchFloat32Trig: " + checked + " torch values checked, " + errors.size()
                + " differ; " + grouped + " cos entries need their vector's reduction, " + chunked
                + " their thread's chunk start");
            assertTrue(errors.isEmpty(), errors.size() + " of " + checked + " differ, e.g. "
                + errors.subList(0, Math.min(10, errors.size())));
            assertTrue(checked > 4_000_000, "too few values: " + checked);
            assertTrue(grouped > 0 && chunked > 0, "the data no longer tells whether lanes are grouped as torch "
                + "groups them: " + grouped + " / " + chunked);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void staysWithinOneUlpOfTheCorrectlyRoundedValue() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (i % 2 == 0 ? rng.nextDouble(-130, 130) : rng.nextDouble(-1e7, 1e7));
            for (boolean small : new boolean[] {true, false}) {
                // both reductions, whatever x's own range: a vector holding x and a large angle uses Payne-Hanek
                float[] v = TorchFloat32Trig.cos(new float[] {x, small ? 0f : 1e6f}, 1);
                float[] w = TorchFloat32Trig.sin(new float[] {x, small ? 0f : 1e6f}, 1);
                assertUlps((float) Math.cos(x), v[0], "cos", x);
                assertUlps((float) Math.sin(x), w[0], "sin", x);
            }
        }
    }

    @Test
    void specialValuesAndLimits() {
        assertEquals(1f, TorchFloat32Trig.cos(0f));
        assertEquals(0x80000000, Float.floatToRawIntBits(TorchFloat32Trig.sin(-0f)));
        assertEquals(0, Float.floatToRawIntBits(TorchFloat32Trig.sin(0f)));
        assertTrue(Float.isNaN(TorchFloat32Trig.cos(Float.POSITIVE_INFINITY)));
        assertTrue(Float.isNaN(TorchFloat32Trig.sin(Float.NaN)));
        assertEquals(0, TorchFloat32Trig.cos(new float[0], 2).length);
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> TorchFloat32Trig.sin(7e7f));
        assertTrue(big.getMessage().contains("2^26"), big.getMessage());
        IllegalArgumentException threads = assertThrows(IllegalArgumentException.class,
            () -> TorchFloat32Trig.cos(new float[] {1f}, 0));
        assertTrue(threads.getMessage().contains("threads"), threads.getMessage());
    }

    private static void assertUlps(float want, float got, String fn, float x) {
        if (!(Math.abs(want - got) <= Math.ulp(want))) {   // a NaN fails
            fail(fn + "(" + x + "): " + got + " is more than one ulp from " + want);
        }
    }

    private static float[] each(float[] x, boolean cos) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = cos ? TorchFloat32Trig.cos(x[i]) : TorchFloat32Trig.sin(x[i]);
        }
        return r;
    }

    private static void compare(String fn, Case c, int i, float want, float got, List<String> errors) {
        if (Float.floatToIntBits(want) != Float.floatToIntBits(got)) {
            errors.add(fn + "(" + c.angles[i] + ") [record " + c.index + ", threads " + c.threads + ", index " + i
                + "]: torch " + want + ", ours " + got);
        }
    }

    private record Case(int index, int threads, float[] angles, float[] cos, float[] sin) {}

    /** The records torch_trig.py wrote: threads, n, then n angles, n cos, n sin (little-endian float32). */
    private static List<Case> read(Path file) throws IOException {
        List<Case> cases = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
            while (in.available() > 0) {
                ByteBuffer head = ByteBuffer.wrap(in.readNBytes(8)).order(ByteOrder.LITTLE_ENDIAN);
                int threads = head.getInt();
                int n = head.getInt();
                cases.add(new Case(cases.size(), threads, floats(in, n), floats(in, n), floats(in, n)));
            }
        }
        return cases;
    }

    private static float[] floats(DataInputStream in, int n) throws IOException {
        float[] v = new float[n];
        ByteBuffer.wrap(in.readNBytes(4 * n)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }
}
