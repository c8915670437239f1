package org.goldenstick;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Enforces the package layering of the library: a package may only import packages of its own level or a
 * lower one, and the package graph has no cycles.
 */
class LayeringTest {
    /** tensor → nn, train, data, formats → llm, graph, rewrite, importer → quant, qat, prune, ptq (cli lives in its own module). */
    private static final Map<String, Integer> LEVEL = Map.ofEntries(
            Map.entry("tensor", 0), Map.entry("progress", 0),
            Map.entry("nn", 1), Map.entry("train", 1), Map.entry("data", 1), Map.entry("formats", 1),
            Map.entry("llm", 2), Map.entry("graph", 2), Map.entry("rewrite", 2), Map.entry("importer", 2),
            Map.entry("quant", 3), Map.entry("qat", 3), Map.entry("prune", 3), Map.entry("ptq", 3),
            Map.entry("compress", 4));

    private static final Pattern IMPORT = Pattern.compile("^import\\s+(?:static\\s+)?org\\.goldenstick\\.(\\w+)", Pattern.MULTILINE);
    private static final Pattern PACKAGE = Pattern.compile("^package\\s+org\\.goldenstick\\.(\\w+)", Pattern.MULTILINE);

    @Test
    void packagesOnlyDependDownwardsAndHaveNoCycles() throws IOException {
        Path src = Path.of("src/main/java/org/goldenstick");
        Map<String, Set<String>> edges = new HashMap<>();
        List<String> violations = new ArrayList<>();
        int files = 0;
        try (Stream<Path> walk = Files.walk(src)) {
            for (Path p : walk.filter(f -> f.toString().endsWith(".java")).toList()) {
                files++;
                String text = Files.readString(p);
                Matcher pm = PACKAGE.matcher(text);
                if (!pm.find()) continue;
                String from = pm.group(1);
                Integer fromLevel = LEVEL.get(from);
                if (fromLevel == null) {
                    violations.add(p + ": package '" + from + "' has no layer assigned in LayeringTest");
                    continue;
                }
                Matcher im = IMPORT.matcher(text);
                while (im.find()) {
                    String to = im.group(1);
                    if (to.equals(from)) continue;
                    Integer toLevel = LEVEL.get(to);
                    if (toLevel == null || toLevel > fromLevel) {
                        violations.add(src.relativize(p) + " (" + from + ") imports higher layer '" + to + "'");
                    }
                    edges.computeIfAbsent(from, k -> new HashSet<>()).add(to);
                }
            }
        }
        assertTrue(files > 0, "no sources found under " + src.toAbsolutePath());
        assertTrue(violations.isEmpty(), "layering violations:\n" + String.join("\n", violations));
        for (String start : edges.keySet()) {
            List<String> cycle = findCycle(start, start, edges, new HashSet<>(), new ArrayList<>());
            assertTrue(cycle == null, () -> "package cycle: " + String.join(" -> ", findCycle(start, start, edges, new HashSet<>(), new ArrayList<>())));
        }
    }

    private static List<String> findCycle(String start, String at, Map<String, Set<String>> edges, Set<String> seen, List<String> path) {
        path.add(at);
        for (String next : edges.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                List<String> c = new ArrayList<>(path);
                c.add(start);
                return c;
            }
            if (seen.add(next)) {
                List<String> c = findCycle(start, next, edges, seen, path);
                if (c != null) return c;
            }
        }
        path.remove(path.size() - 1);
        return null;
    }
}
