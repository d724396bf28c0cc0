// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spindle parity}: one float64 step of a model against PyTorch's numbers. */
@Command(name = "parity", mixinStandardHelpOptions = true,
    description = {"Compares one float64 training step with PyTorch's numbers from torch_ref.py export.",
        "%nLoads a model exported by ../shared/bench/torch_ref.py export CONFIG OUTDIR, runs one float64 forward and"
            + " backward, and prints one JSON line: loss_abs_err, max_grad_rel_err (max over parameters of"
            + " ||g - g_ref|| / ||g_ref||) and worst_param. Exits 1 unless loss_abs_err <= 1e-10 and"
            + " max_grad_rel_err <= 1e-8 (a NaN error fails).",
        "%nOn an export --qat directory (qat.json and converted.safetensors) a second line compares Spindle's convert"
            + " of the weights with torchao's: code_mismatches must be 0 and max_scale_abs_err (scales and zeros)"
            + " <= 1e-12.",
        "%nAn export --lora directory (adapter_config.json, adapter_model.safetensors) is loaded as the frozen base"
            + " with that PEFT adapter, and the gradients compared are the adapters' (lora_A, lora_B, DoRA's"
            + " lora_magnitude_vector), under PEFT's names; an export --qat --lora directory as QAT-LoRA's model (the frozen"
            + " base fake-quantized, the adapters in float)."})
public final class Parity implements Callable<Integer> {
    @Option(names = "--model-dir", required = true,
        description = "Directory with config.json, model.safetensors, batch.safetensors, grads.safetensors, expected.json.")
    private Path modelDir;

    @Override
    public Integer call() throws Exception {
        ParityCheck.Result result = ParityCheck.run(modelDir);
        System.out.println(result.toJson());
        boolean convertPasses = true;
        if (ConvertCheck.applies(modelDir)) {
            ConvertCheck.Result convert = ConvertCheck.run(modelDir);
            System.out.println(convert.toJson());
            convertPasses = convert.passes();
        }
        return result.passes() && convertPasses ? 0 : 1;
    }
}
