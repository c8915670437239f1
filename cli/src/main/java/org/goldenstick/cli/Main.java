package org.goldenstick.cli;

import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import org.goldenstick.data.DataFileException;
import org.goldenstick.formats.gguf.GgufFormatException;
import org.goldenstick.formats.onnx.OnnxFormatException;
import org.goldenstick.formats.safetensors.SafetensorsFormatException;
import org.goldenstick.llm.tokenizer.TokenizerException;
import org.goldenstick.train.NonFiniteLossException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the {@code gstick} command. Subcommands live one per class in this package.
 *
 * <p>Exit codes: {@value #OK} success, {@value #INPUT_ERROR} a usage or input error (bad option, missing or malformed
 * file, invalid configuration), {@value #INTERNAL_ERROR} an internal error (a bug: the stack trace is printed).
 */
@Command(name = "gstick", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Golden Stick for Java: train, compress (QAT, pruning, PTQ), evaluate and benchmark models.",
        footer = {"", "Exit codes: 0 success, 2 usage or input error, 1 internal error (docs/cli.md)."},
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    public static final int OK = 0;
    public static final int INPUT_ERROR = 2;
    public static final int INTERNAL_ERROR = 1;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** The version every command prints with {@code -V}. */
    public static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"gstick " + (v != null ? v : "0.1.0") + " (Java " + Runtime.version() + ")"};
        }
    }

    /** Builds the command line with every registered subcommand, each with {@code -V} and the exit-code mapping. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (Object sub : Commands.all()) cl.addSubcommand(sub);
        setVersion(cl);
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            int code = exitCode(ex);
            if (code == INPUT_ERROR) {
                c.getErr().println("error: " + message(ex));
                if (Boolean.getBoolean("gstick.debug")) ex.printStackTrace(c.getErr());
            } else {
                c.getErr().println("internal error: " + ex + " (please report it with the trace below)");
                ex.printStackTrace(c.getErr());
            }
            c.getErr().flush();
            return code;
        });
        return cl;
    }

    private static void setVersion(CommandLine cl) {
        cl.getCommandSpec().versionProvider(new Version());
        for (CommandLine sub : cl.getSubcommands().values()) setVersion(sub);
    }

    /** {@value #INPUT_ERROR} for what the user can fix (arguments, files, configurations), {@value #INTERNAL_ERROR} otherwise. */
    static int exitCode(Throwable ex) {
        Throwable t = ex instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : ex;
        boolean input = t instanceof IllegalArgumentException // includes rewrite.ConfigException and NumberFormatException
                || t instanceof DataFileException || t instanceof TokenizerException || t instanceof GgufFormatException
                || t instanceof OnnxFormatException || t instanceof SafetensorsFormatException
                || t instanceof FileSystemException // no such file, already exists, not a directory, access denied
                || t instanceof NonFiniteLossException // the recipe diverged: a learning-rate or data problem to fix
                || t instanceof CommandLine.ParameterException;
        return input ? INPUT_ERROR : INTERNAL_ERROR;
    }

    private static String message(Throwable ex) {
        if (ex instanceof FileSystemException f) {
            String reason = f.getReason() != null ? f.getReason() : switch (f) {
                case java.nio.file.NoSuchFileException n -> "no such file or folder";
                case java.nio.file.FileAlreadyExistsException e -> "already exists";
                case java.nio.file.AccessDeniedException a -> "permission denied";
                default -> f.getClass().getSimpleName();
            };
            return f.getFile() + ": " + reason;
        }
        if (ex instanceof UncheckedIOException u && u.getCause() != null) return message(u.getCause());
        // a wrapper whose message is only its cause's toString() ("java.lang.IllegalArgumentException: ...") shows the cause's
        if (ex.getCause() != null && ex.getCause() != ex && (ex.getMessage() == null || ex.getMessage().equals(ex.getCause().toString()))) return message(ex.getCause());
        return ex.getMessage() != null ? ex.getMessage() : ex.toString();
    }

    public static void main(String[] args) {
        Stderr.restore();
        System.exit(commandLine().execute(args));
    }
}
