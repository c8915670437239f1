package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** Runs {@code gstick} commands in-process for the CLI tests, capturing what they print. */
final class CliRunner {
    private CliRunner() {}

    /** Runs a command that must succeed; returns its standard output. */
    static String stdout(String... args) {
        PrintStream saved = System.out;
        var buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Main.commandLine().execute(args);
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, code, "exit code of gstick " + String.join(" ", args));
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** Runs a {@code --json} command that must succeed and print exactly one JSON object. */
    static JsonNode json(String... args) throws IOException {
        String out = stdout(args);
        assertEquals(1, out.strip().lines().count(), out);
        return new ObjectMapper().readTree(out);
    }

    /** Runs a command that must fail; returns what it printed on standard error. */
    static String failure(String... args) {
        var err = new ByteArrayOutputStream();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        assertNotEquals(0, cl.execute(args), "gstick " + String.join(" ", args) + " should fail");
        return err.toString(StandardCharsets.UTF_8);
    }
}
