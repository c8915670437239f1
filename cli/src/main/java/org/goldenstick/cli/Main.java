package org.goldenstick.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code gstick} command. Subcommands live one per class in this package. */
@Command(name = "gstick", mixinStandardHelpOptions = true, version = "gstick 0.1.0",
        description = "Golden Stick for Java: train, compress (QAT, pruning, PTQ), evaluate and benchmark models.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Builds the command line with every registered subcommand. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (Object sub : Commands.all()) cl.addSubcommand(sub);
        return cl;
    }

    public static void main(String[] args) {
        int code = commandLine().setExecutionExceptionHandler((ex, cl, parsed) -> {
            cl.getErr().println("error: " + ex.getMessage());
            if (Boolean.getBoolean("gstick.debug")) ex.printStackTrace(cl.getErr());
            return 2;
        }).execute(args);
        System.exit(code);
    }
}
