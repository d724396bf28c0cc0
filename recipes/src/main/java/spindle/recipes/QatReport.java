// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.util.Locale;

/**
 * The held-out losses {@code spindle qat} compares, and the share of PTQ's loss increase that QAT recovered:
 * (PTQ - QAT) / (PTQ - float). QAT also trains the model further, which lowers the loss by itself; with a float
 * control (the same steps without fake quantization, then converted) the share is taken against the control, so
 * that it counts only what fake quantization bought.
 *
 * @param tunedFloat the control's float loss, or null without a control
 * @param tunedPtq   the control's loss after convert, or null without a control
 */
record QatReport(double floatLoss, double ptqLoss, double qatLoss, Double tunedFloat, Double tunedPtq, int batches) {

    /** One line per model, then the recovered share (against the control when there is one). */
    String text() {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "held-out loss (%d batches, nats/byte):%n"
            + "  float (pretrained)                      %.4f%n"
            + "  PTQ: convert without training           %.4f%n", batches, floatLoss, ptqLoss));
        if (tunedFloat != null) {
            sb.append(String.format(Locale.ROOT, "  float control: same steps, no QAT       %.4f%n"
                + "  PTQ of the float control                %.4f%n", tunedFloat, tunedPtq));
        }
        sb.append(String.format(Locale.ROOT, "  QAT -> convert                          %.4f%n", qatLoss));
        sb.append(tunedFloat == null
            ? share(floatLoss, ptqLoss, "") + "; QAT also trained further, which lowers the loss by itself:"
                + " compare.float_finetune=true tells the two apart"
            : share(tunedFloat, tunedPtq, " of the float control (trained as long)"));
        return sb.toString();
    }

    private String share(double reference, double quantized, String whose) {
        double lost = quantized - reference;
        if (!(lost > 0)) {
            return "PTQ lost nothing" + whose + ": there is nothing for QAT to recover";
        }
        return String.format(Locale.ROOT, "QAT recovered %.1f%% of the PTQ degradation%s (%.4f of %.4f)",
            100 * (quantized - qatLoss) / lost, whose, quantized - qatLoss, lost);
    }
}
