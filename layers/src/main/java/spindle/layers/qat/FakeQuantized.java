// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

/**
 * A layer (or tied head) whose fake quantization can be switched off, so that training can start in float and
 * turn quantization on later (torchtune's fake_quant_after_n_steps). Switched off, it computes the float result.
 */
public interface FakeQuantized {
    void setFakeQuantEnabled(boolean enabled);

    boolean isFakeQuantEnabled();
}
