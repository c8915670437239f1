package org.goldenstick.cli;

import java.util.List;

/** The registry of subcommands: add a command object here to expose it. */
final class Commands {
    private Commands() {}

    static List<Object> all() {
        return List.of(
                new org.goldenstick.cli.bench.BenchCommand(),
                new TrainCommand(),
                new TrainLmCommand(),
                new QatCommand(),
                new PruneCommand(),
                new QuantizeCommand(),
                new CompressCommand(),
                new SensitivityCommand(),
                new EvalCommand(),
                new ExportCommand(),
                new TokenizeCommand(),
                new GenerateCommand(),
                new ScriptCommands.Data(),
                new ScriptCommands.Test(),
                new PtqCommand(),
                new EvalEmbeddingsCommand());
    }
}
