// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** One {@code spindle} command run in-process, as {@code ./spindle} runs it: its exit code, stdout and stderr. */
record CommandRun(int exit, String out, String err) {
    static CommandRun of(String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            CommandLine cli = Spindle.commandLine();
            cli.setErr(new PrintWriter(err, true));
            int exit = cli.execute(args);
            return new CommandRun(exit, captured.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(original);
        }
    }

    /** The error as printed: one line, with no stack trace. */
    boolean oneLineError() {
        return err.strip().lines().count() == 1 && !err.contains("\tat ") && !err.contains("Exception");
    }

    @Override
    public String toString() {
        return "exit " + exit + ", stderr: " + err;
    }
}
