// SPDX-License-Identifier: Apache-2.0
/**
 * Measuring tools, not training jobs: {@code spindle bench} times the trainer's steps (against PyTorch with
 * {@code --compare}), {@code spindle parity} checks one float64 step against PyTorch's numbers, and
 * {@code spindle op-overhead} times one op through the tape.
 */
package spindle.recipes.bench;
