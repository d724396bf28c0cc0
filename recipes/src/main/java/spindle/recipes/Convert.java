// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import spindle.data.HfConfig;
import spindle.data.tokenizer.TokenizerFiles;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatConvert;
import spindle.layers.qat.QatModels;
import spindle.layers.qat.QatScheme;

/** {@code spindle convert}: a model directory to a quantized one (torchao's convert step). */
@Command(name = "convert", mixinStandardHelpOptions = true,
    description = {"Writes the quantized model of a model directory: int8 codes, scales and (int4wo) zeros per quantized"
        + " linear in OUT/model.safetensors, the scheme under config.json's \"quantization_config\".",
        "%nThe scheme is the directory's qat.json (a model prepared for QAT) unless --scheme is given; a plain model"
            + " is quantized after training (PTQ). Prints the file size against float32 as a JSON line."
            + " generate and eval load OUT with quantized linears."})
final class Convert implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model-dir", defaultValue = "runs/pretrain/model", description = "Model directory (default: ${DEFAULT-VALUE}).")
    private Path modelDir;

    @Option(names = "--out", required = true, description = "Directory for the converted model (not the model directory).")
    private Path out;

    @Option(names = "--scheme", description = "8da4w, int4wo or int8wo (default: qat.json's, else 8da4w).")
    private String scheme;

    @Option(names = "--group-size", description = "Inputs per weight group of 8da4w and int4wo (default: qat.json's, else 32).")
    private Integer groupSize;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out) && Files.isSameFile(out, modelDir)) {
            throw new IllegalArgumentException("--out " + out + " is the model directory; give the converted model its own");
        }
        boolean prepared = QatModels.isQat(modelDir);
        QatConfig qat = prepared ? QatConfig.read(modelDir.resolve(QatModels.QAT_JSON))
            : new QatConfig(QatScheme.INT8_DYN_ACT_INT4_WEIGHT, QatConfig.DEFAULT_GROUP_SIZE);
        qat = new QatConfig(scheme == null ? qat.scheme() : QatScheme.parse(scheme),
            groupSize == null ? qat.groupSize() : groupSize);
        // convert needs only the float weights, so a QAT model may also be converted with another scheme
        CausalLm model = CausalLms.fromPretrained(modelDir, DataType.FLOAT);
        HfConfig config = HfConfig.read(modelDir.resolve("config.json"));
        QatConvert.Report report = QatConvert.write(model, config, qat, out);
        TokenizerFiles.copy(modelDir, out);
        spec.commandLine().getErr().println(String.format(Locale.ROOT, "convert: %s %s, group_size %d: %d linears quantized, %d left float;"
            + " %s is %.1f%% of the float32 size (%d of %d bytes)", prepared ? "QAT model" : "plain model (PTQ)",
            qat.scheme().id(), qat.groupSize(), report.quantized().size(), report.skipped().size(), report.file(),
            100 * report.ratio(), report.fileBytes(), report.float32Bytes()));
        System.out.println(report.toJson());
        return 0;
    }
}
