package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import org.goldenstick.data.MissingDataException;
import org.goldenstick.rewrite.ConfigException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Help text, versions and exit codes of every command. */
class CliHelpTest {
    private static List<CommandLine> all(CommandLine cl) {
        List<CommandLine> out = new ArrayList<>(List.of(cl));
        for (CommandLine sub : cl.getSubcommands().values()) if (sub != cl) out.addAll(all(sub));
        return out;
    }

    @Test
    void everyCommandHasACompleteSummaryNoNullDefaultAndAVersion() {
        for (CommandLine c : all(Main.commandLine())) {
            String name = c.getCommandSpec().qualifiedName();
            String[] desc = c.getCommandSpec().usageMessage().description();
            if (!(c.getCommand() instanceof CommandLine.HelpCommand)) {
                assertTrue(desc.length > 0, name + " has a description");
                // the command list shows only the first line, so it must be a whole sentence
                assertTrue(desc[0].strip().endsWith("."), name + ": summary line ends mid-sentence: '" + desc[0] + "'");
            }
            String usage = c.getUsageMessage(CommandLine.Help.Ansi.OFF);
            assertFalse(usage.contains("default: null"), name + " shows (default: null):\n" + usage);
            if (c.getCommandSpec().mixinStandardHelpOptions()) {
                var out = new StringWriter();
                c.printVersionHelp(new PrintWriter(out, true), CommandLine.Help.Ansi.OFF);
                assertTrue(out.toString().startsWith("gstick "), name + " -V prints '" + out + "'");
            }
        }
    }

    @Test
    void topLevelHelpListsTheScriptCommands() {
        String usage = Main.commandLine().getUsageMessage(CommandLine.Help.Ansi.OFF);
        for (String c : new String[] {"train", "qat", "prune", "quantize", "eval", "generate", "tokenize", "bench", "data", "test"}) {
            assertTrue(usage.lines().anyMatch(l -> l.startsWith("  " + c + " ")), c + " in\n" + usage);
        }
        assertTrue(usage.contains("Exit codes"), usage);
    }

    @Test
    void usageAndInputErrorsExitWith2InternalErrorsWith1() {
        assertEquals(Main.INPUT_ERROR, Main.commandLine().setErr(new PrintWriter(new StringWriter())).execute("train", "--no-such-option"));
        assertEquals(Main.INPUT_ERROR, Main.commandLine().setErr(new PrintWriter(new StringWriter())).execute("eval", "--ctx", "1"));
        assertEquals(Main.INPUT_ERROR, Main.exitCode(new ConfigException("SLB", "weight_bits", 8, "1, 2 or 4", ConfigException.Kind.VALUE)));
        assertEquals(Main.INPUT_ERROR, Main.exitCode(new MissingDataException(java.nio.file.Path.of("data-cache/x"), "fashion-mnist")));
        assertEquals(Main.INPUT_ERROR, Main.exitCode(new UncheckedIOException(new NoSuchFileException("a.safetensors"))));
        assertEquals(Main.INTERNAL_ERROR, Main.exitCode(new IllegalStateException("bug")));
        assertEquals(Main.INTERNAL_ERROR, Main.exitCode(new NullPointerException()));
        assertEquals(Main.INTERNAL_ERROR, Main.exitCode(new IOException("disk full")));
    }
}
