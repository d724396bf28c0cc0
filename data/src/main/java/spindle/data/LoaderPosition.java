// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Where a {@link DataLoader} stands: the next batch is batch {@code index} of epoch {@code epoch}, whose
 * order was drawn from {@code seed}. Saved in a checkpoint as JSON ({@code {"epoch":2,"index":17,"seed":42}})
 * and given back to {@link DataLoader#restore} to continue with exactly the batch that would have come next.
 */
public record LoaderPosition(int epoch, int index, long seed) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public LoaderPosition {
        if (epoch < 0 || index < 0) {
            throw new IllegalArgumentException("epoch and index must be >= 0, got epoch " + epoch + ", index " + index);
        }
    }

    /** This position as a JSON object. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A position from {@link #toJson()}'s output; an error quotes the text when it is not one. */
    public static LoaderPosition fromJson(String json) {
        try {
            return JSON.readValue(json, LoaderPosition.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a loader position (expected {\"epoch\":..,\"index\":..,\"seed\":..}): "
                + json + " (" + e.getOriginalMessage() + ")", e);
        }
    }
}
