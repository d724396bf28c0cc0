// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How a state dict matched a module: keys the module has but the file lacks, keys the file has but the
 * module lacks, and keys present in both with different shapes ("key: module [a, b], file [c, d]").
 */
public record LoadReport(List<String> missing, List<String> unexpected, List<String> misshapen) {
    public LoadReport {
        missing = List.copyOf(missing);
        unexpected = List.copyOf(unexpected);
        misshapen = List.copyOf(misshapen);
    }

    /** Compares a module's own state dict with one to be loaded. */
    public static LoadReport compare(Map<String, INDArray> own, Map<String, INDArray> loaded) {
        List<String> missing = new ArrayList<>();
        List<String> misshapen = new ArrayList<>();
        own.forEach((key, target) -> {
            INDArray source = loaded.get(key);
            if (source == null) {
                missing.add(key);
            } else if (!Arrays.equals(source.shape(), target.shape())) {
                misshapen.add(key + ": module " + Arrays.toString(target.shape()) + ", file "
                    + Arrays.toString(source.shape()));
            }
        });
        List<String> unexpected = loaded.keySet().stream().filter(k -> !own.containsKey(k)).toList();
        return new LoadReport(missing, unexpected, misshapen);
    }

    /** True when every key matched in name and shape. */
    public boolean isClean() {
        return missing.isEmpty() && unexpected.isEmpty() && misshapen.isEmpty();
    }

    /** One line for an error message or a log. */
    public String describe() {
        return isClean() ? "all keys match" : "missing keys " + missing + ", unexpected keys " + unexpected
            + ", misshapen keys " + misshapen;
    }
}
