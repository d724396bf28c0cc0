// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps every main source file of every module within 300 code lines: comments and blank lines are free,
 * code is not ({@link MethodBudgetTest} keeps each method within 60 lines). Runs from recipes, the last module of the reactor, over all of them.
 */
class SourceBudgetTest {
    private static final int MAX_CODE_LINES = 300;
    private static final int MAX_RECIPE_LINES = 150;

    @Test
    void everySourceFileOfEveryModuleFitsTheBudget() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<Path> sources;
        try (Stream<Path> files = Files.walk(root)) {
            sources = files.filter(p -> p.toString().endsWith(".java"))
                .filter(p -> p.toString().contains("/src/main/java/"))
                .toList();
        }
        assertFalse(sources.isEmpty(), "no sources found under " + root);
        List<String> over = sources.stream()
            .filter(p -> codeLines(p) > MAX_CODE_LINES)
            .map(p -> root.relativize(p) + ": " + codeLines(p) + " code lines")
            .toList();
        assertTrue(over.isEmpty(), "split these files (limit " + MAX_CODE_LINES + "): " + over);
    }

    /**
     * A recipe wires the library and nothing more, so each recipe class (the commands of spindle.recipes and
     * spindle.recipes.bench and their helpers) stays within 150 lines, comments included; the config parser in
     * spindle.recipes.config is library code under the file budget above.
     */
    @Test
    void everyRecipeClassIsAtMost150Lines() throws IOException {
        Path recipes = Path.of("src", "main", "java", "spindle", "recipes");
        List<Path> classes;
        try (Stream<Path> files = Files.walk(recipes)) {
            classes = files.filter(p -> p.toString().endsWith(".java"))
                .filter(p -> !p.getParent().endsWith("config"))
                .toList();
        }
        assertTrue(classes.size() > 5, "no recipe classes found under " + recipes.toAbsolutePath());
        List<String> over = classes.stream()
            .filter(p -> lines(p) > MAX_RECIPE_LINES)
            .map(p -> recipes.relativize(p) + ": " + lines(p) + " lines")
            .toList();
        assertTrue(over.isEmpty(), "move what these recipes do into the library (limit " + MAX_RECIPE_LINES + "): " + over);
    }

    private static long lines(Path p) {
        try (Stream<String> lines = Files.lines(p)) {
            return lines.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lines that are not blank and not comments. */
    private static long codeLines(Path p) {
        try (Stream<String> lines = Files.lines(p)) {
            return lines.map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("//") && !l.startsWith("*") && !l.startsWith("/*"))
                .count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
