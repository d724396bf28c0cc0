// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

/**
 * How a MoE layer keeps its experts evenly loaded, under the {@code config.json} keys {@code DeepSeekV3} reads.
 * {@link #defaults()} holds the value a config without the key gets. Beyond Hugging Face's keys:
 * router_z_loss_coef (Switch Transformers), moe_capacity_factor, and aux_free_bias_update_speed (the gamma of
 * DeepSeek-V3's auxiliary-loss-free balancing, read when topk_method is noaux_tc).
 *
 * @param auxLossAlpha aux_loss_alpha (0.001); 0 disables the Switch / sequence-wise balance loss
 * @param seqAux seq_aux (false): the balance loss is computed per sequence and averaged (DeepSeek-V3)
 * @param zLossCoef router_z_loss_coef (0); 0 disables the router z-loss
 * @param capacityFactor moe_capacity_factor (0); 0 means no capacity limit
 * @param biasUpdateSpeed aux_free_bias_update_speed ({@value #DEFAULT_BIAS_UPDATE_SPEED} with noaux_tc); 0 means
 *     no loss-free balancing bias, as every topk_method but noaux_tc has
 */
public record BalanceOptions(double auxLossAlpha, boolean seqAux, double zLossCoef, double capacityFactor,
                             double biasUpdateSpeed) {
    /** aux_free_bias_update_speed when topk_method is noaux_tc and the key is absent: DeepSeek-V3's gamma. */
    public static final double DEFAULT_BIAS_UPDATE_SPEED = 0.001;

    public BalanceOptions {
        nonNegative(auxLossAlpha, "aux_loss_alpha");
        nonNegative(zLossCoef, "router_z_loss_coef");
        nonNegative(capacityFactor, "moe_capacity_factor");
        nonNegative(biasUpdateSpeed, "aux_free_bias_update_speed");
    }

    /** aux_loss_alpha 0.001 batch-wise, no z-loss, no capacity limit, no loss-free bias. */
    public static BalanceOptions defaults() {
        return new BalanceOptions(0.001, false, 0.0, 0.0, 0.0);
    }

    /** These options with aux_loss_alpha and seq_aux replaced. */
    public BalanceOptions withAuxLoss(double alpha, boolean perSequence) {
        return new BalanceOptions(alpha, perSequence, zLossCoef, capacityFactor, biasUpdateSpeed);
    }

    /** These options with router_z_loss_coef replaced (0: no z-loss). */
    public BalanceOptions withZLoss(double coef) {
        return new BalanceOptions(auxLossAlpha, seqAux, coef, capacityFactor, biasUpdateSpeed);
    }

    /** These options with moe_capacity_factor replaced (0: no limit). */
    public BalanceOptions withCapacityFactor(double factor) {
        return new BalanceOptions(auxLossAlpha, seqAux, zLossCoef, factor, biasUpdateSpeed);
    }

    /** These options with aux_free_bias_update_speed replaced (0: no loss-free bias). */
    public BalanceOptions withBiasUpdateSpeed(double gamma) {
        return new BalanceOptions(auxLossAlpha, seqAux, zLossCoef, capacityFactor, gamma);
    }

    private static void nonNegative(double v, String key) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(key + " must be >= 0 and finite but is " + v);
        }
    }
}
