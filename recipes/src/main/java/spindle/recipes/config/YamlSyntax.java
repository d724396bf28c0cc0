// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A YAML syntax error as one line: where (file or override, line and column) and what the parser expected.
 * SnakeYAML's message holds the context ("while parsing a flow sequence") and then the problem, each followed by
 * " in 'reader', line L, column C:" and a quote of the text with a caret; the problem comes first here, at its
 * own line and column, and the context, with where it starts, in parentheses.
 */
final class YamlSyntax {
    private static final Pattern MARK = Pattern.compile("\\s*in '[^']*', line (\\d+), column (\\d+):\\s*");

    private YamlSyntax() {}

    /** {@code where} is e.g. "config file c.yaml" or "override 'train.lr=[1'". */
    static IllegalArgumentException error(String where, JsonProcessingException e) {
        List<String> said = new ArrayList<>();
        List<String> marks = new ArrayList<>();
        for (String line : e.getOriginalMessage().split("\n")) {
            Matcher at = MARK.matcher(line);
            if (at.matches() && said.size() == marks.size() + 1) {
                marks.add("line " + at.group(1) + ", column " + at.group(2));
            } else if (!line.isBlank() && !Character.isWhitespace(line.charAt(0))) {
                while (marks.size() < said.size()) {
                    marks.add(null);
                }
                said.add(line.strip());
            }
        }
        if (said.isEmpty()) {
            return new IllegalArgumentException(where + ": not valid YAML: " + e.getOriginalMessage().strip());
        }
        int last = said.size() - 1;
        String position = last < marks.size() && marks.get(last) != null ? marks.get(last) : location(e.getLocation());
        List<String> context = new ArrayList<>();
        for (int i = 0; i < last; i++) {
            context.add(said.get(i) + (i < marks.size() && marks.get(i) != null ? " at " + marks.get(i) : ""));
        }
        return new IllegalArgumentException(where + (position == null ? "" : ", " + position) + ": not valid YAML: "
            + said.get(last) + (context.isEmpty() ? "" : " (" + String.join("; ", context) + ")"));
    }

    private static String location(JsonLocation at) {
        return at == null || at.getLineNr() < 1 ? null : "line " + at.getLineNr() + ", column " + at.getColumnNr();
    }
}
