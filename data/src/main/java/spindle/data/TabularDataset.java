// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.util.List;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rows of numeric features with one target each, made by {@link CsvTable}. Batches are inputs FLOAT [B, F]
 * and targets INT64 [B] class ids (classification) or FLOAT [B, 1] values (regression).
 */
public final class TabularDataset implements Dataset {
    private final float[][] features;
    private final double[] targets;
    private final List<String> classes;

    TabularDataset(float[][] features, double[] targets, List<String> classes) {
        this.features = features;
        this.targets = targets;
        this.classes = List.copyOf(classes);
    }

    @Override
    public int size() {
        return features.length;
    }

    @Override
    public Batch batch(int[] indices) {
        float[][] x = new float[indices.length][];
        for (int r = 0; r < indices.length; r++) {
            x[r] = features[indices[r]];
        }
        if (isClassification()) {
            long[] y = new long[indices.length];
            for (int r = 0; r < indices.length; r++) {
                y[r] = (long) targets[indices[r]];
            }
            return new Batch(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
        }
        float[][] y = new float[indices.length][1];
        for (int r = 0; r < indices.length; r++) {
            y[r][0] = (float) targets[indices[r]];
        }
        return new Batch(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }

    /** Class names by id; empty for regression. */
    public List<String> classes() {
        return classes;
    }

    /** True when targets are class ids. */
    public boolean isClassification() {
        return !classes.isEmpty();
    }

    /** Number of feature columns F. */
    public int features() {
        return features.length == 0 ? 0 : features[0].length;
    }
}
