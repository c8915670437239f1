package org.goldenstick;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The algorithms, the rewriting layer, the graph and the exporters work on any network: their code (comments aside)
 * names no class of {@code nn.models}, neither by simple name nor fully qualified nor as a string. The model classes are
 * read from {@code nn/models}, so a new built-in network is covered without editing this test.
 */
class NoModelClassesTest {
    /** Packages whose code must not know the built-in networks. */
    private static final List<String> PACKAGES = List.of("graph", "rewrite", "quant", "qat", "prune", "ptq");

    @Test
    void algorithmRewriteGraphAndExportCodeNamesNoBuiltInNetwork() throws IOException {
        Path src = Path.of("src/main/java/org/goldenstick");
        List<String> models = new ArrayList<>();
        try (Stream<Path> s = Files.list(src.resolve("nn/models"))) {
            for (Path p : s.toList()) if (p.toString().endsWith(".java")) models.add(p.getFileName().toString().replace(".java", ""));
        }
        assertTrue(models.contains("LeNet5") && models.contains("ResNet"), "model classes not found: " + models);
        Pattern named = Pattern.compile("nn\\.models|\\b(" + String.join("|", models) + ")\\b");
        List<String> offenders = new ArrayList<>();
        int files = 0;
        for (String pkg : PACKAGES) {
            try (Stream<Path> walk = Files.walk(src.resolve(pkg))) {
                for (Path p : walk.filter(f -> f.toString().endsWith(".java")).toList()) {
                    files++;
                    String rel = src.relativize(p).toString().replace('\\', '/');
                    Matcher m = named.matcher(withoutComments(Files.readString(p)));
                    if (m.find()) offenders.add(rel + ": '" + m.group() + "'");
                }
            }
        }
        assertTrue(files > 20, "sources not found under " + src.toAbsolutePath());
        assertTrue(offenders.isEmpty(), "code that knows the built-in networks by class:\n" + String.join("\n", offenders));
    }

    @Test
    void theCheckSeesFullyQualifiedNamesStringsAndSimpleNames() {
        Pattern named = Pattern.compile("nn\\.models|\\b(LeNet5|ResNet)\\b");
        assertTrue(named.matcher(withoutComments("var n = new org.goldenstick.nn.models.Foo();")).find());
        assertTrue(named.matcher(withoutComments("if (m.getClass().getSimpleName().equals(\"LeNet5\")) {}")).find());
        assertTrue(named.matcher(withoutComments("m instanceof ResNet r")).find());
        assertFalse(named.matcher(withoutComments("/** works on ResNet too */ int x; // LeNet5\nint y;")).find());
        assertFalse(named.matcher(withoutComments("ResNet20Like z;")).find());
    }

    /** The source without comments (strings kept, so a class name compared as a string is still found). */
    static String withoutComments(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0, n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && s.charAt(j) != c) j += s.charAt(j) == '\\' ? 2 : 1;
                out.append(s, i, Math.min(n, j + 1));
                i = j + 1;
            } else if (s.startsWith("//", i)) {
                while (i < n && s.charAt(i) != '\n') i++;
            } else if (s.startsWith("/*", i)) {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }
}
