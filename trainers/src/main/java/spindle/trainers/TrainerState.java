// SPDX-License-Identifier: Apache-2.0
package spindle.trainers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import spindle.data.LoaderPosition;

/**
 * The trainer's own part of a checkpoint, saved as trainer_state.json: the optimizer steps taken, the
 * LR schedule's position (the step the next lr is computed for), where the training loader stands, and
 * the {@link TrainingRandom} state. With the model and optimizer files it is everything a resume needs.
 */
public record TrainerState(long step, long scheduleStep, LoaderPosition data, long rngSeed, long rngDraws) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public TrainerState {
        if (step < 0 || scheduleStep < 0) {
            throw new IllegalArgumentException("step and scheduleStep must be >= 0, got " + step + ", " + scheduleStep);
        }
        if (data == null) {
            throw new IllegalArgumentException("the data position must not be null");
        }
    }

    /** This state as JSON. */
    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("trainer state cannot be written as JSON", e);
        }
    }

    /** Reads what {@link #toJson()} wrote; {@code source} names the file in the error. */
    public static TrainerState fromJson(String json, String source) {
        try {
            return JSON.readValue(json, TrainerState.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + " is not a trainer state: " + e.getOriginalMessage(), e);
        }
    }
}
