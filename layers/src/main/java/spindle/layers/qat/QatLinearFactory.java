// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.layers.Init;
import spindle.layers.Layer;
import spindle.layers.Linear;
import spindle.layers.LinearFactory;

/**
 * Builds a {@link QatLinear} for every projection that qualifies (input size divisible by the group size;
 * any size for int8 weight-only) and a plain {@link Linear} for the rest, as torchao skips them; the skipped
 * ones are listed by {@link #skipped()} so a caller can report them.
 */
public final class QatLinearFactory implements LinearFactory {
    private final DataType dtype;
    private final Init init;
    private final QatScheme scheme;
    private final int groupSize;
    private final List<String> skipped = new ArrayList<>();

    public QatLinearFactory(DataType dtype, Init init, QatScheme scheme, int groupSize) {
        if (groupSize < 1) {
            throw new IllegalArgumentException("qat.group_size must be positive but is " + groupSize);
        }
        this.dtype = dtype;
        this.init = init;
        this.scheme = scheme;
        this.groupSize = groupSize;
    }

    @Override
    public Layer create(String name, int in, int out, boolean bias) {
        if (scheme.qualifies(in, groupSize)) {
            return new QatLinear(in, out, bias, dtype, init, scheme, groupSize);
        }
        skipped.add(name + " (in_features " + in + " not divisible by group_size " + groupSize + ")");
        return new Linear(in, out, bias, dtype, init);
    }

    /** The projections left unquantized so far, each with its reason, in creation order. */
    public List<String> skipped() {
        return Collections.unmodifiableList(skipped);
    }
}
