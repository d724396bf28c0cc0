// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.data.Safetensors;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatConvert;
import spindle.layers.qat.QatModels;

/**
 * Compares Spindle's convert of an {@code export --qat} directory's weights with torchao's conversion that
 * torch_ref.py wrote to converted.safetensors: the same quantized modules, every tensor with the same dtype and
 * shape, identical int8 codes, and scales and zeros within 1e-12.
 */
final class ConvertCheck {
    static final String CONVERTED = "converted.safetensors";
    static final double MAX_PARAM_ABS_ERR = 1e-12;

    private ConvertCheck() {}

    /** The comparison; {@code problem} names the first tensor that is missing or misshapen (null when none is). */
    record Result(int tensors, long codeMismatches, double maxParamAbsErr, String worst, String problem) {
        boolean passes() {
            return problem == null && codeMismatches == 0 && maxParamAbsErr <= MAX_PARAM_ABS_ERR;
        }

        String toJson() {
            return String.format(Locale.ROOT, "{\"convert_tensors\": %d, \"code_mismatches\": %d, \"max_scale_abs_err\": %s,"
                + " \"worst_tensor\": \"%s\", \"problem\": %s, \"pass\": %b}", tensors, codeMismatches,
                Double.isFinite(maxParamAbsErr) ? String.format(Locale.ROOT, "%.3e", maxParamAbsErr) : "\"" + maxParamAbsErr + "\"",
                worst, problem == null ? "null" : "\"" + problem.replace("\"", "'") + "\"", passes());
        }
    }

    /** True when {@code dir} was exported with --qat and holds torch_ref's conversion. */
    static boolean applies(Path dir) {
        return QatModels.isQat(dir) && Files.isRegularFile(dir.resolve(CONVERTED));
    }

    static Result run(Path dir) throws IOException {
        QatConfig qat = QatConfig.read(dir.resolve(QatModels.QAT_JSON));
        QatModels.Prepared prepared = QatModels.fromPretrained(dir, DataType.DOUBLE);
        Map<String, INDArray> ours = QatConvert.convert(prepared.model(), qat).tensors();
        Map<String, INDArray> ref = Safetensors.read(dir.resolve(CONVERTED));
        TreeSet<String> ourKeys = quantizedKeys(ours);
        TreeSet<String> refKeys = new TreeSet<>(ref.keySet());
        if (!ourKeys.equals(refKeys)) {
            TreeSet<String> onlyOurs = new TreeSet<>(ourKeys);
            onlyOurs.removeAll(refKeys);
            refKeys.removeAll(ourKeys);
            return new Result(ref.size(), 0, 0, "", "the quantized tensors differ: only Spindle's convert has " + onlyOurs
                + ", only " + CONVERTED + " has " + refKeys);
        }
        long mismatches = 0;
        double worst = 0;
        String worstName = "";
        for (Map.Entry<String, INDArray> e : ref.entrySet()) {
            INDArray mine = ours.get(e.getKey());
            INDArray theirs = e.getValue();
            if (mine == null || mine.dataType() != theirs.dataType() || !Arrays.equals(mine.shape(), theirs.shape())) {
                return new Result(ref.size(), 0, 0, e.getKey(), CONVERTED + ": tensor '" + e.getKey() + "' is "
                    + describe(theirs) + " but Spindle's convert gives " + (mine == null ? "none" : describe(mine)));
            }
            INDArray diff = mine.castTo(DataType.DOUBLE).sub(theirs.castTo(DataType.DOUBLE));
            if (theirs.dataType() == DataType.BYTE) {
                mismatches += diff.neq(0).castTo(DataType.LONG).sumNumber().longValue();
            } else {
                double err = diff.isNaN().any() ? Double.NaN : diff.amaxNumber().doubleValue();
                // a NaN error is the worst there is, and stays the worst once found
                if (worstName.isEmpty() || !Double.isNaN(worst) && !(err <= worst)) {
                    worst = err;
                    worstName = e.getKey();
                }
            }
        }
        return new Result(ref.size(), mismatches, worst, worstName, null);
    }

    /** The codes, scales and zeros of every module that has scales: what torch_ref writes for a quantized linear. */
    private static TreeSet<String> quantizedKeys(Map<String, INDArray> tensors) {
        TreeSet<String> keys = new TreeSet<>();
        tensors.keySet().stream().filter(k -> k.endsWith(".scales")).forEach(k -> {
            String module = k.substring(0, k.length() - ".scales".length());
            for (String suffix : new String[] {".weight", ".scales", ".zeros"}) {
                if (tensors.containsKey(module + suffix)) {
                    keys.add(module + suffix);
                }
            }
        });
        return keys;
    }

    private static String describe(INDArray a) {
        return a.dataType() + " " + Arrays.toString(a.shape());
    }
}
