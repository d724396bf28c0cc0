// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import spindle.layers.Module;
import spindle.layers.lora.LoraLinear;
import spindle.layers.models.CausalLm;

/**
 * Turns the fake quantization of a whole model on or off: every {@link FakeQuantized} module, the fake-quantized
 * base of a QAT-LoRA adapter and a tied QAT head.
 */
public final class FakeQuantSwitch {
    private FakeQuantSwitch() {}

    /** Sets every fake-quantized part of {@code model} to {@code enabled}; returns how many parts it set. */
    public static int setEnabled(Module model, boolean enabled) {
        int n = 0;
        for (Module m : model.namedModules().values()) {
            if (m instanceof FakeQuantized f) {
                f.setFakeQuantEnabled(enabled);
                n++;
            } else if (m instanceof LoraLinear l && l.product() instanceof FakeQuantized f) {   // QAT-LoRA
                f.setFakeQuantEnabled(enabled);
                n++;
            }
        }
        if (model instanceof CausalLm lm && lm.tiedHead() instanceof FakeQuantized head) {
            head.setFakeQuantEnabled(enabled);
            n++;
        }
        return n;
    }
}
