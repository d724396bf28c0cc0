// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Children named "0", "1", ... in order, as nn.ModuleList (the "layers" of a decoder, the "experts" of MoE). */
public final class ModuleList<M extends Module> extends Module {
    private final List<M> items = new ArrayList<>();

    public ModuleList(List<M> modules) {
        for (M m : modules) {
            items.add(child(String.valueOf(items.size()), m));
        }
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    public List<M> items() {
        return Collections.unmodifiableList(items);
    }
}
