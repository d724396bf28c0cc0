// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.io.IOException;

/**
 * Data shipped inside this jar (licences in {@code spindle/data/NOTICE} beside them): Moby-Dick as the
 * default corpus, and a question/answer set made from BSD {@code quiz} files for fine-tuning demos.
 */
public final class EmbeddedData {
    /** Herman Melville, Moby-Dick (1851), 1.2 MB of UTF-8 text; public domain (PDDL/CC0 via stdlib-js). */
    public static final String MOBY_DICK = "spindle/data/moby-dick.txt";
    /** Quiz question/answer pairs, JSONL with "prompt", "response" and "answers" (accepted variants). */
    public static final String QUIZ_TRAIN = "spindle/data/quiz/train.jsonl";
    /** The held-out quiz pairs, same format as {@link #QUIZ_TRAIN}. */
    public static final String QUIZ_TEST = "spindle/data/quiz/test.jsonl";

    private EmbeddedData() {
    }

    /** The text of an embedded resource, e.g. {@code read(EmbeddedData.MOBY_DICK)}. */
    public static String read(String resource) throws IOException {
        return TextFiles.resource(resource);
    }

    /** The full text of Moby-Dick. */
    public static String mobyDick() throws IOException {
        return read(MOBY_DICK);
    }
}
