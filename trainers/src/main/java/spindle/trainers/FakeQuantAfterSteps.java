// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import spindle.layers.qat.FakeQuantSwitch;

/**
 * torchtune's {@code fake_quant_after_n_steps}: the first N optimizer steps train the QAT model in float (fake
 * quantization off), every later step fake-quantizes. A resumed run switches by the restored step. Steps are
 * counted from 1, so step N + 1 is the first quantized one; with N = 0 every step is.
 */
public final class FakeQuantAfterSteps implements Callback {
    private final long n;

    public FakeQuantAfterSteps(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("fake_quant_after_n_steps must be >= 0, got " + n);
        }
        this.n = n;
    }

    @Override
    public void onStart(long step, Trainer trainer) {
        switchAt(step, trainer);
    }

    @Override
    public void onStep(StepMetrics metrics, Trainer trainer) {
        switchAt(metrics.step(), trainer);
    }

    /** After {@code done} steps, the next step fake-quantizes when done >= N. */
    private void switchAt(long done, Trainer trainer) {
        if (FakeQuantSwitch.setEnabled(trainer.model(), done >= n) == 0) {
            throw new IllegalArgumentException("fake_quant_after_n_steps: the model has no fake-quantized layer"
                + " (prepare it for QAT first)");
        }
    }
}
