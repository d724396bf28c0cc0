// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./spindle}: dispatches to one subcommand per job. */
@Command(name = "spindle", mixinStandardHelpOptions = true, version = "spindle 0.1.0",
    description = "Train and fine-tune models on the JVM.",
    subcommands = {Demo.class, Bench.class, Parity.class, OpOverhead.class, CommandLine.HelpCommand.class})
public final class Spindle implements Runnable {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Spindle()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
