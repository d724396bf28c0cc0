// SPDX-License-Identifier: Apache-2.0
package spindle.data;

/**
 * Examples addressed by index in [0, size()); {@link DataLoader} chooses the indices (order, shard,
 * epoch) and the dataset turns a group of them into one {@link Batch}, in the order given.
 */
public interface Dataset {

    /** Number of examples. */
    int size();

    /** The examples at {@code indices} collated into a batch whose row i is example indices[i]. */
    Batch batch(int[] indices);
}
