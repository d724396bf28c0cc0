// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.data.WeightFiles;
import spindle.data.tokenizer.ModelTokenizer;
import spindle.layers.RopeScaling;
import spindle.layers.models.ConfigKeys;

/** {@code spindle inspect}: what a model directory holds, read from config.json and the weights' headers only. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"Describes a model directory without loading its weights: model type, weight files (one"
        + " model.safetensors or the shards model.safetensors.index.json names, checked against each other),"
        + " dtypes, parameters by module kind, the config.json keys Spindle reads, those it ignores on purpose"
        + " (informational ones such as torch_dtype) and those it does not know, whether Spindle refuses the config"
        + " (a key that would change the math), and the tokenizer."})
final class Inspect implements Callable<Integer> {
    @Option(names = "--model-dir", required = true, description = "Directory with config.json and the weights.")
    private Path modelDir;

    @Override
    public Integer call() throws Exception {
        HfConfig config = HfConfig.read(modelDir.resolve("config.json"));
        String type = config.string("model_type", "(none)");
        System.out.println("model_type: " + type);
        Map<String, Long> byKind = new TreeMap<>();
        Map<String, Long> byDtype = new TreeMap<>();
        long total = 0;
        for (Path file : WeightFiles.files(modelDir)) {
            List<Safetensors.TensorInfo> tensors = Safetensors.tensors(file);
            System.out.printf(Locale.ROOT, "weights: %s (%d tensors, %.1f MB)%n", file.getFileName(), tensors.size(),
                Files.size(file) / 1e6);
            for (Safetensors.TensorInfo t : tensors) {
                byKind.merge(kind(t.name()), t.elements(), Long::sum);
                byDtype.merge(t.dtype(), t.elements(), Long::sum);
                total += t.elements();
            }
        }
        System.out.println("dtype: " + counts(byDtype) + " elements");
        System.out.println("parameters: " + String.format(Locale.ROOT, "%,d", total));
        byKind.forEach((kind, n) -> System.out.printf(Locale.ROOT, "  %-32s %,d%n", kind, n));
        keys(config, type);
        System.out.println("supported: " + refusal(config, type));
        try (ModelTokenizer tokens = ModelTokenizer.forModelDir(modelDir)) {
            System.out.println("tokenizer: " + (tokens.isByteLevel() ? "byte-level (no tokenizer.json)"
                : "tokenizer.json, " + tokens.tokenizer().vocabSize() + " ids, eos " + tokens.eosToken().orElse("none")
                + ", stop ids " + tokens.stopTokens() + ", chat template " + (tokens.chatTemplate().isPresent() ? "yes" : "no")));
        }
        return 0;
    }

    /** The module kind of a tensor: its last module name ("q_proj"), "experts." before a routed expert's. */
    private static String kind(String name) {
        String[] parts = name.split("\\.");
        String module = parts.length > 1 ? parts[parts.length - 2] : name;
        return (name.contains(".experts.") ? "experts." : "") + module + "." + parts[parts.length - 1];
    }

    private static void keys(HfConfig config, String type) {
        List<String> read = new ArrayList<>();
        List<String> informational = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (String key : config.keys()) {
            (ConfigKeys.read(type).contains(key) ? read : ConfigKeys.INFORMATIONAL.contains(key) ? informational : unknown)
                .add(key);
        }
        System.out.println("config keys read: " + read);
        System.out.println("config keys ignored on purpose: " + informational);
        System.out.println("config keys not known to Spindle (not read): " + unknown);
    }

    /** "yes", or the error that refuses the config. */
    private static String refusal(HfConfig config, String type) {
        if (ConfigKeys.read(type).isEmpty()) {
            return "no: model_type '" + type + "' is not supported";
        }
        try {
            ConfigKeys.requireNeutral(config);
            RopeScaling.fromHfConfig(config);
            return config.has("quantization_config") ? "no: quantization_config (quantized weights)" : "yes";
        } catch (IllegalArgumentException e) {
            return "no: " + e.getMessage();
        }
    }

    private static String counts(Map<String, Long> byDtype) {
        StringBuilder out = new StringBuilder();
        byDtype.forEach((d, n) -> out.append(out.length() == 0 ? "" : ", ").append(d).append(' ')
            .append(String.format(Locale.ROOT, "%,d", n)));
        return out.toString();
    }
}
