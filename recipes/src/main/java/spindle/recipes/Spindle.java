// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import spindle.recipes.bench.Bench;
import spindle.recipes.bench.OpOverhead;
import spindle.recipes.bench.Parity;
import spindle.recipes.config.RecipeConfig;

/** Entry point of {@code ./spindle}: dispatches to one subcommand per job. */
@Command(name = "spindle", mixinStandardHelpOptions = true, version = "spindle 0.1.0",
    description = "Train and fine-tune models on the JVM.",
    subcommands = {Pretrain.class, Qat.class, Finetune.class, Merge.class, Generate.class, Evaluate.class, Convert.class, Inspect.class,
        Bench.class, Parity.class, Demo.class, OpOverhead.class, CommandLine.HelpCommand.class})
public final class Spindle implements Runnable {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(Ranks.exit(commandLine().execute(args)));
    }

    /** The command line with its subcommands, recipe key help and one-line errors for bad input. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Spindle());
        // Configured recipes list their keys and defaults under --help.
        cli.getSubcommands().values().forEach(sub -> {
            if (sub.getCommand() instanceof ConfiguredRecipe recipe) {
                sub.getCommandSpec().usageMessage().footer("%n" + RecipeConfig.help(recipe.keys()).replace("%", "%%"));
            }
        });
        // Bad input (a config key, a file, a shape) is reported in one line, without a stack trace.
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof java.io.IOException
                || e instanceof java.io.UncheckedIOException) {
                cmd.getErr().println("spindle " + cmd.getCommandName() + ": " + e.getMessage());
                return 2;
            }
            if (e instanceof GuardedFit.TrainingStopped) {   // a NaN or Inf: the message says where to go on from
                Ranks.stoppedTogether();   // every rank of an MPI job stops at the same step with it
                cmd.getErr().println("spindle " + cmd.getCommandName() + ": " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
