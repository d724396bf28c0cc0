// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The README's first command: the demo trains on Moby-Dick and its loss falls well below a uniform guess. */
class DemoTest {
    @Test
    void demoLossFallsFarBelowTheUniformGuess() {
        PrintStream original = System.out;
        var captured = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new Spindle()).execute("demo", "--steps", "500");
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, out);
        double first = number(out, "step\\s+1\\s+train loss (\\S+)");
        double last = number(out, "step\\s+500\\s+train loss (\\S+)");
        double heldOut = number(out, "held-out loss (\\S+)");
        // ln 256 = 5.55 nats is a uniform guess; English bytes carry well under 3 nats once letters are learned.
        assertTrue(first > 5 && last < 2.8 && heldOut < 2.8, out);
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), "no match for " + regex + " in:\n" + text);
        return Double.parseDouble(m.group(1));
    }
}
