// SPDX-License-Identifier: Apache-2.0
/**
 * Optimizers with PyTorch's exact update rules (SGD, Adam, AdamW), parameter groups, learning-rate
 * schedules and global-norm clipping; their state round-trips through a checkpoint.
 */
package spindle.optim;
