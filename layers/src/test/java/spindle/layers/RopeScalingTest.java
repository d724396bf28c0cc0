// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.autograd.ops.RopeLayout;
import spindle.data.HfConfig;
import spindle.testing.PyTorch;

/** rope_scaling: tables equal to transformers' float32 ones bit for bit, and the config's errors. */
class RopeScalingTest {

    @ParameterizedTest(name = "rot_dim {0}, {1} positions, theta {2}: {3}")
    @CsvSource(delimiter = '|', value = {
        "16 | 64 | 10000 | {\"type\": \"linear\", \"factor\": 4.0}",
        "8 | 100 | 500000 | {\"rope_type\": \"linear\", \"factor\": 2.5}",
        // original 256 with factors 1 and 4: wavelengths below 64 are kept, above 256 divided, 64..256 blended
        "16 | 512 | 10000 | {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 256}",
        // Llama 3.2 1B's values
        "64 | 1024 | 500000 | {\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}",
        "128 | 300 | 500000 | {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.5, \"high_freq_factor\": 3.0, \"original_max_position_embeddings\": 700}"})
    void scaledTablesAreTransformersFloat32TablesBitForBit(int dim, int n, double theta, String scaling) throws Exception {
        Path torchRef = RopeTest.torchRefDir();
        JsonNode ref = new ObjectMapper().readTree(PyTorch.run(Path.of("src", "test", "python", "rope_tables.py"), 120,
            torchRef.toString(), "" + dim, "" + n, "" + theta, scaling));
        RopeScaling s = RopeScaling.fromHfConfig(HfConfig.parse("{\"rope_scaling\": " + scaling + "}", "test"));
        Rope rope = new Rope(dim, theta, n, RopeLayout.ROTATE_HALF, s, DataType.DOUBLE);
        Rope plain = new Rope(dim, theta, n, RopeLayout.ROTATE_HALF, DataType.DOUBLE);
        assertTrue(!rope.cos().equals(plain.cos()), "the scaling changes the table");
        for (String which : new String[] {"cos", "sin"}) {
            double[] got = (which.equals("cos") ? rope.cos() : rope.sin()).dup('c').data().asDouble();
            JsonNode want = ref.get(which);
            assertEquals(want.size(), got.length, which + " length");
            for (int i = 0; i < got.length; i++) {
                if (Double.doubleToLongBits(want.get(i).asDouble()) != Double.doubleToLongBits(got[i])) {
                    fail(which + " at position " + i / dim + ", channel " + i % dim + ": torch " + want.get(i).asDouble()
                        + ", spindle " + got[i]);
                }
            }
        }
    }

    @Test
    void llama3KeepsHighBlendsMediumAndDividesLowFrequencies() {
        float[] inv = new float[8];
        for (int i = 0; i < 8; i++) {
            inv[i] = 1.0f / (float) Math.pow(10000f, (float) (2 * i) / 16f);   // wavelengths 6.3 .. 19869
        }
        float[] out = RopeScaling.llama3(8, 1, 4, 256).apply(inv);
        int kept = 0;
        int divided = 0;
        int blended = 0;
        for (int i = 0; i < 8; i++) {
            if (out[i] == inv[i]) {
                kept++;
            } else if (out[i] == inv[i] / 8f) {
                divided++;
            } else {
                assertTrue(out[i] < inv[i] && out[i] > inv[i] / 8f, "a blend lies between: " + out[i]);
                blended++;
            }
        }
        assertEquals(3, kept);
        assertEquals(1, blended);
        assertEquals(4, divided);
    }

    @Test
    void absentNullAndDefaultMeanNoScaling() {
        assertEquals(RopeScaling.NONE, parse("{}"));
        assertEquals(RopeScaling.NONE, parse("{\"rope_scaling\": null}"));
        assertEquals(RopeScaling.NONE, parse("{\"rope_scaling\": {\"rope_type\": \"default\"}}"));
        assertEquals(RopeScaling.linear(2), parse("{\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}"));
    }

    @Test
    void anUnknownTypeOrBadValueIsAnErrorNamingTheKeyAndValue() {
        assertMessage("{\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4.0}}", "rope_scaling.rope_type \"yarn\" is not supported");
        assertMessage("{\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}}", "rope_type \"dynamic\"");
        assertMessage("{\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 0.5}}", "rope_scaling.factor must be a finite number >= 1 but is 0.5");
        assertMessage("{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1,"
            + " \"high_freq_factor\": 4}}", "required key rope_scaling.original_max_position_embeddings is missing");
        assertMessage("{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4,"
            + " \"high_freq_factor\": 1, \"original_max_position_embeddings\": 64}}", "rope_scaling.high_freq_factor (1.0)");
        assertMessage("{\"rope_scaling\": \"linear\"}", "rope_scaling must be a JSON object");
    }

    private static RopeScaling parse(String json) {
        return RopeScaling.fromHfConfig(HfConfig.parse(json, "cfg.json"));
    }

    private static void assertMessage(String json, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    }
}
