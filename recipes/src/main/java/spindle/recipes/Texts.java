// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import spindle.data.EmbeddedData;
import spindle.data.TextFiles;
import spindle.data.TokenFile;

/** The text a recipe trains on: "moby-dick" (shipped with Spindle) or a UTF-8 file. */
final class Texts {
    private Texts() {}

    static String source(String spec) {
        return spec.equals("moby-dick") ? EmbeddedData.MOBY_DICK : spec;
    }

    static String read(String spec) throws IOException {
        if (spec.equals("moby-dick")) {
            return EmbeddedData.mobyDick();
        }
        Path file = Path.of(spec);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("data.text '" + spec + "' is neither 'moby-dick' nor an existing text file");
        }
        return TextFiles.read(file);   // strict: a binary or Latin-1 file names its first bad byte
    }

    /** Entropy in nats of the token frequencies: the loss of the best model that ignores context. */
    static double unigramEntropy(TokenFile tokens) {
        long n = tokens.size();
        java.util.Map<Integer, Long> counts = new java.util.HashMap<>();
        int[] chunk = new int[8192];
        for (long at = 0; at < n; at += chunk.length) {
            int len = (int) Math.min(chunk.length, n - at);
            int[] dst = len == chunk.length ? chunk : new int[len];
            tokens.read(at, dst);
            for (int t : dst) {
                counts.merge(t, 1L, Long::sum);
            }
        }
        double h = 0;
        for (long c : counts.values()) {
            double p = (double) c / n;
            h -= p * Math.log(p);
        }
        return h;
    }
}
