// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.SourcePositions;
import com.sun.source.util.TreePathScanner;
import com.sun.source.util.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * Keeps every method and constructor of every module's main sources within 60 lines, counted from its first
 * annotation or modifier to its closing brace (its Javadoc is outside). The sources are parsed with the JDK's
 * own compiler, so a method is found however it is laid out, nested and anonymous classes included. Runs from
 * recipes, the last module of the reactor, over all of them.
 */
class MethodBudgetTest {
    private static final int MAX_METHOD_LINES = 60;

    @Test
    void everyMethodOfEveryModuleFitsTheBudget() throws IOException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<Path> sources;
        try (Stream<Path> files = Files.walk(root)) {
            sources = files.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/"))
                .sorted().toList();
        }
        assertFalse(sources.isEmpty(), "no sources found under " + root);
        List<String> over = new ArrayList<>();
        for (MethodSize m : methodSizes(sources)) {
            if (m.lines() > MAX_METHOD_LINES) {
                over.add(root.relativize(m.file()) + ":" + m.line() + " " + m.name() + ": " + m.lines() + " lines");
            }
        }
        assertTrue(over.isEmpty(), "split these methods (limit " + MAX_METHOD_LINES + " lines): " + over);
    }

    @Test
    void countsTheLinesOfEachMethodAndConstructorFromItsAnnotationsToItsBrace() throws IOException {
        Path file = Files.createTempDirectory("method-budget").resolve("Sample.java");
        Files.writeString(file, """
            class Sample {
                Sample() {
                    int a = 1;
                }

                /** Free. */
                @Override
                public String toString() {
                    // free
                    String s = "x";

                    return s;
                }

                abstract void none();
            }
            """);
        List<String> sizes = methodSizes(List.of(file)).stream().map(m -> m.name() + "@" + m.line() + "=" + m.lines())
            .toList();
        assertTrue(sizes.equals(List.of("<init>@2=3", "toString@7=7", "none@15=1")), sizes.toString());
    }

    /** A method or constructor ({@code <init>}): its file, the line its declaration starts on and its length in lines. */
    record MethodSize(Path file, String name, long line, long lines) {}

    static List<MethodSize> methodSizes(List<Path> sources) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<MethodSize> sizes = new ArrayList<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, null)) {
            JavacTask task = (JavacTask) javac.getTask(null, files, null, List.of("-proc:none"), null,
                files.getJavaFileObjectsFromPaths(sources));
            SourcePositions positions = Trees.instance(task).getSourcePositions();
            for (CompilationUnitTree unit : task.parse()) {
                Path file = Path.of(unit.getSourceFile().toUri());
                new TreePathScanner<Void, Void>() {
                    @Override
                    public Void visitMethod(MethodTree method, Void unused) {
                        long first = unit.getLineMap().getLineNumber(positions.getStartPosition(unit, method));
                        long last = unit.getLineMap().getLineNumber(positions.getEndPosition(unit, method));
                        sizes.add(new MethodSize(file, method.getName().toString(), first, last - first + 1));
                        return super.visitMethod(method, unused);
                    }
                }.scan(unit, null);
            }
        }
        return sizes;
    }
}
