// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import java.util.List;

/**
 * One prompt/response example of a JSONL file, as text: what {@link PromptDataset} tokenizes and what an
 * exact-match evaluation asks and checks.
 *
 * @param source  the file or resource it came from (named in errors)
 * @param line    its 1-based line there
 * @param prompt  the prompt text
 * @param response the reference response text
 * @param answers the accepted answers: the JSON's "answers" list of strings when it has one, else the response
 *                without surrounding white space
 */
public record PromptPair(String source, int line, String prompt, String response, List<String> answers) {
    public PromptPair {
        answers = List.copyOf(answers);
    }

    /** True when {@code answer}, without surrounding white space, equals one of the accepted answers. */
    public boolean accepts(String answer) {
        return answers.contains(answer.strip());
    }
}
