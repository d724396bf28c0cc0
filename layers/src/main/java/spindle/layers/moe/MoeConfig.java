// SPDX-License-Identifier: Apache-2.0
package spindle.layers.moe;

import spindle.layers.Check;

/**
 * One MoE layer's configuration: its sizes, how its gate routes and how it balances the load. Errors name the
 * {@code config.json} key of the value.
 *
 * <pre>{@code
 * MoeConfig c = MoeConfig.of(new ExpertDims(hidden, 8, 1, 2, 128))
 *     .withRouting(RouterOptions.defaults().withScoring(RouterScore.SIGMOID, true, 2.5))
 *     .withBalance(BalanceOptions.defaults().withBiasUpdateSpeed(BalanceOptions.DEFAULT_BIAS_UPDATE_SPEED));
 * }</pre>
 */
public record MoeConfig(ExpertDims dims, RouterOptions routing, BalanceOptions balance) {
    public MoeConfig {
        if (dims == null || routing == null || balance == null) {
            throw new IllegalArgumentException("MoeConfig: dims, routing and balance must not be null");
        }
        int experts = dims.nRoutedExperts();
        Check.divisible(experts, "n_routed_experts", routing.nGroup(), "n_group");
        if (routing.topkGroup() * (experts / routing.nGroup()) < dims.topK()) {
            throw new IllegalArgumentException("topk_group (" + routing.topkGroup() + ") groups of n_routed_experts /"
                + " n_group = " + experts / routing.nGroup() + " experts hold fewer than num_experts_per_tok = "
                + dims.topK() + " experts");
        }
    }

    /** The layer of {@code dims} with the default routing and balance options. */
    public static MoeConfig of(ExpertDims dims) {
        return new MoeConfig(dims, RouterOptions.defaults(), BalanceOptions.defaults());
    }

    /** This configuration with the routing options replaced. */
    public MoeConfig withRouting(RouterOptions r) {
        return new MoeConfig(dims, r, balance);
    }

    /** This configuration with the balance options replaced. */
    public MoeConfig withBalance(BalanceOptions b) {
        return new MoeConfig(dims, routing, b);
    }

    /** Slots an expert may take from {@code tokens} tokens: ceil(factor * tokens * K / E); 0: no limit. */
    public long capacity(long tokens) {
        double factor = balance.capacityFactor();
        return factor == 0 ? 0 : (long) Math.ceil(factor * tokens * dims.topK() / dims.nRoutedExperts());
    }
}
