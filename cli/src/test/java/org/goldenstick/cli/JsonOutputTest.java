package org.goldenstick.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs every command's {@code --json} on tiny inputs, parses each output with a strict parser (one object, nothing
 * after it, no NaN or Infinity, not even as strings) and checks its keys against docs/cli.md in both directions:
 * every documented key is printed and every printed key is documented; a {@code null} value has a reason.
 * ({@code train-lm} runs a five-step recipe on a tiny model; most of its time is corpus loading and tokenizer training.)
 */
class JsonOutputTest {
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();

    @TempDir
    Path tmp;

    @Test
    void everyCommandPrintsOneStrictObjectWithTheDocumentedKeys() throws Exception {
        Map<String, Map<String, Set<String>>> docs = documentedKeys();
        Path ckpt = tmp.resolve("lenet.safetensors");
        String[] tiny = {"--limit-train", "120", "--limit-test", "60"};

        check(docs, "train", run(cat(new String[] {"train", "--epochs", "1", "--json", "--out", ckpt.toString()}, tiny)));
        check(docs, "qat", run(cat(new String[] {"qat", "--from", ckpt.toString(), "--qat-epochs", "1", "--bench-seconds", "0", "--out",
                tmp.resolve("qat").toString(), "--json"}, tiny)));
        check(docs, "qat", run(cat(new String[] {"qat", "--algo", "slb", "--weight-bits", "2", "--from", ckpt.toString(), "--qat-epochs", "1",
                "--bench-seconds", "0.05", "--out", tmp.resolve("qat").toString(), "--json"}, tiny)));
        check(docs, "ptq --model", run(cat(new String[] {"ptq", "--model", "lenet", "--from", ckpt.toString(), "--calib-samples", "64", "--max-drop", "1",
                "--val-samples", "64", "--out", tmp.resolve("ptq").toString(), "--json"}, tiny)));
        check(docs, "prune", run(cat(new String[] {"prune", "--model", "lenet", "--from", ckpt.toString(), "--kf-epochs", "1", "--ft-epochs", "1",
                "--bench-seconds", "0.05", "--out", tmp.resolve("prune").toString(), "--json"}, tiny)));

        Path simqat = Files.writeString(tmp.resolve("simqat.yaml"), "q:\n  q_modifiers:\n    SimQATModifier: {}\n");
        check(docs, "compress", run(cat(new String[] {"compress", "--recipe", simqat.toString(), "--from", ckpt.toString(), "--ft-epochs", "1", "--out",
                tmp.resolve("compressed.safetensors").toString(), "--json"}, tiny)));

        TinyLlama llm = TinyLlama.create(tmp);
        Path q = tmp.resolve("q");
        check(docs, "quantize", run("quantize", "--model", llm.dir().toString(), "--method", "rtn", "--out", q.toString(), "--json"));
        Path rtn = Files.writeString(tmp.resolve("rtn.json"), "{\"s\": {\"q_modifiers\": {\"QuantizationModifier\": {\"scheme\": \"W8A16\"}}}}");
        check(docs, "compress", run("compress", "--recipe", rtn.toString(), "--model", llm.dir().toString(), "--out", tmp.resolve("q2").toString(), "--json"));
        Path gptq = Files.writeString(tmp.resolve("gptq.yaml"), "s:\n  q_modifiers:\n    GPTQModifier: {scheme: W4A16, group_size: 32}\n");
        check(docs, "compress", run("compress", "--recipe", gptq.toString(), "--model", llm.dir().toString(), "--calib-samples", "4", "--seq-len", "48",
                "--out", tmp.resolve("q3").toString(), "--json"));
        check(docs, "eval", run("eval", "--model", q.toString(), "--ref", llm.dir().toString(), "--ctx", "32", "--max-tokens", "80", "--json"));
        check(docs, "eval", run("eval", "--model", llm.dir().toString(), "--ctx", "32", "--max-tokens", "80", "--json"));
        check(docs, "generate", run("generate", "--model", llm.dir().toString(), "--max-new-tokens", "4", "--json"));
        check(docs, "tokenize", run("tokenize", "--model", llm.dir().toString(), "--json"));
        check(docs, "sensitivity", run("sensitivity", "--model", llm.dir().toString(), "--group-size", "32", "--calib-samples", "2", "--seq-len", "32", "--json"));
        check(docs, "export", run("export", "--format", "gguf", "--type", "q4_k", "--model", llm.dir().toString(), "--out", tmp.resolve("m.gguf").toString(), "--json"));

        Path lmRecipe = Files.writeString(tmp.resolve("lm-recipe.json"), """
                {"seed":7,"corpus":"json test","vocabSize":300,"hiddenSize":32,"intermediateSize":64,"numLayers":2,"numHeads":4,"numKvHeads":2,
                 "contextLength":32,"tieEmbeddings":true,"ropeTheta":10000.0,"batchSize":4,"steps":5,"peakLr":0.01,"minLr":0.001,"warmupSteps":1,
                 "weightDecay":0.0,"beta1":0.9,"beta2":0.95,"adamEps":1e-8,"gradClip":1.0,"evalEvery":0}
                """);
        check(docs, "train-lm", run("train-lm", "--recipe", lmRecipe.toString(), "--out", tmp.resolve("lm").toString(), "--json"));

        String[] quick = {"--seconds", "0.01", "--warmup", "0.01"};
        check(docs, "bench gemm", run(cat(new String[] {"bench", "gemm", "--sizes", "16", "--threads", "1,2", "--json"}, quick)));
        check(docs, "bench gemv", run(cat(new String[] {"bench", "gemv", "--rows", "32", "--cols", "128", "--matrices", "1", "--threads", "1",
                "--gemm-m", "4", "--low-bits", "2", "--json"}, quick)));
        check(docs, "bench int8", run(cat(new String[] {"bench", "int8", "--sizes", "16", "--threads", "1", "--json"}, quick)));
        check(docs, "bench train", run("bench", "train", "--models", "lenet,mobilenetv2", "--inputs", "1x8x8", "--batch", "4", "--seconds", "0.05",
                "--warmup", "0", "--rounds", "1", "--json"));
        check(docs, "bench membw", run("bench", "membw", "--threads", "1", "--mib", "8", "--seconds", "0.05", "--json"));
        check(docs, "bench llm", run("bench", "llm", "--model", llm.dir().toString(), "--hidden", "64", "--layers", "1", "--intermediate", "128",
                "--heads", "4", "--kv-heads", "2", "--vocab", "300", "--prompt", "8", "--seconds", "0.05", "--json"));
        check(docs, "bench ptq", run("bench", "ptq", "--size", "small", "--decode-tokens", "1", "--dir", tmp.toString(), "--json"));

        Set<String> covered = new TreeSet<>(docs.keySet());
        covered.removeAll(ran);
        // ptq and eval-embeddings need the fetched 90 MB MiniLM; PtqCommandTest runs them through checkKeys
        Set<String> elsewhere = Set.of("ptq", "eval-embeddings");
        assertEquals(elsewhere, covered, "commands documented in docs/cli.md but not run here");
        Set<String> withJson = new TreeSet<>();
        collectJsonCommands(Main.commandLine(), withJson);
        withJson.removeAll(ran);
        assertEquals(elsewhere, withJson, "commands with --json that neither this test nor PtqCommandTest runs");
    }

    private final Set<String> ran = new LinkedHashSet<>();

    private static String run(String... args) {
        return CliRunner.stdout(args);
    }

    private static String[] cat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private void check(Map<String, Map<String, Set<String>>> docs, String command, String stdout) throws Exception {
        ran.add(command);
        checkKeys(docs, command, stdout);
    }

    /** The strict-parse and documented-keys check of one command's output (also used by PtqCommandTest). */
    static void checkKeys(Map<String, Map<String, Set<String>>> docs, String command, String stdout) throws Exception {
        assertEquals(1, stdout.strip().lines().count(), command + ": one line on stdout, got\n" + stdout);
        JsonNode j = STRICT.readTree(stdout);
        assertTrue(j.isObject(), command + ": " + stdout);
        assertNoNonFinite(j, command);
        Map<String, Set<String>> keys = docs.get(command);
        assertTrue(keys != null, "docs/cli.md documents no keys for '" + command + "'");
        assertEquals(new TreeSet<>(keys.get("")), fieldNames(j), command + ": printed keys vs documented keys");
        for (var nested : keys.entrySet()) {
            if (nested.getKey().isEmpty()) continue;
            JsonNode arr = j.get(nested.getKey());
            assertTrue(arr.isArray() && !arr.isEmpty(), command + ": " + nested.getKey() + " is a non-empty array");
            for (JsonNode e : arr) assertEquals(new TreeSet<>(nested.getValue()), fieldNames(e), command + ": keys of " + nested.getKey());
        }
        JsonNode reasons = j.get("null_reasons");
        for (var it = j.fields(); it.hasNext(); ) {
            var f = it.next();
            if (f.getValue().isNull()) {
                assertTrue(reasons != null && reasons.hasNonNull(f.getKey()), command + ": '" + f.getKey() + "' is null without a reason: " + j);
            }
        }
    }

    private static void collectJsonCommands(picocli.CommandLine cl, Set<String> out) {
        if (cl.getCommandSpec().findOption("--json") != null) out.add(cl.getCommandSpec().qualifiedName().replaceFirst("^gstick ", ""));
        for (picocli.CommandLine sub : cl.getSubcommands().values()) if (sub != cl) collectJsonCommands(sub, out);
    }

    private static Set<String> fieldNames(JsonNode j) {
        Set<String> s = new TreeSet<>();
        j.fieldNames().forEachRemaining(s::add);
        return s;
    }

    private static void assertNoNonFinite(JsonNode n, String where) {
        if (n.isTextual()) {
            assertFalse(Set.of("NaN", "Infinity", "-Infinity").contains(n.asText()), where + ": non-finite number as a string");
        } else if (n.isNumber()) {
            assertTrue(Double.isFinite(n.asDouble()), where + ": " + n);
        }
        n.fields().forEachRemaining(e -> assertNoNonFinite(e.getValue(), where + "." + e.getKey()));
        if (n.isArray()) for (JsonNode e : n) assertNoNonFinite(e, where + "[]");
    }

    private static final Pattern SECTION = Pattern.compile("^### `gstick ([a-z0-9 .-]+?) --json`");
    private static final Pattern SHARED = Pattern.compile("^### Shared by every compression command");
    private static final Pattern KEY = Pattern.compile("`([a-z0-9_]+)`");

    /**
     * Command → (array key → its element keys; "" → the top-level keys), read from docs/cli.md: a section's table rows
     * give keys in their first column; "The shared compression keys" adds the shared section's; the bench table gives
     * one row per command, with nested keys in parentheses after their array's key.
     */
    static Map<String, Map<String, Set<String>>> documentedKeys() throws Exception {
        Path doc = Path.of(System.getProperty("gstick.root", "..")).resolve("docs/cli.md");
        List<String> lines = Files.readAllLines(doc);
        Map<String, Map<String, Set<String>>> out = new LinkedHashMap<>();
        Set<String> shared = new LinkedHashSet<>();
        Set<String> current = null;
        boolean benchTable = false;
        for (String line : lines) {
            Matcher s = SECTION.matcher(line);
            if (SHARED.matcher(line).find()) {
                current = shared;
                benchTable = false;
            } else if (s.find()) {
                benchTable = s.group(1).equals("bench ...");
                current = benchTable ? null : new LinkedHashSet<>();
                if (!benchTable) out.put(s.group(1), new LinkedHashMap<>(Map.of("", current)));
            } else if (line.startsWith("## ")) {
                current = null;
                benchTable = false;
            } else if (line.startsWith("The shared compression keys") && current != null) {
                current.addAll(shared);
            } else if (line.startsWith("| `") && benchTable) {
                String[] cells = line.split("\\|");
                String command = cells[1].strip().replace("`", "");
                Map<String, Set<String>> keys = new LinkedHashMap<>();
                keys.put("", new LinkedHashSet<>());
                String rest = cells[2];
                String lastTop = null;
                int depth = 0;
                List<String> tokens = new ArrayList<>();
                Matcher k = Pattern.compile("`([a-z0-9_]+)`|\\(|\\)").matcher(rest);
                while (k.find()) tokens.add(k.group());
                for (String t : tokens) {
                    if (t.equals("(")) depth++;
                    else if (t.equals(")")) depth--;
                    else if (depth == 0) keys.get("").add(lastTop = t.replace("`", ""));
                    else keys.computeIfAbsent(lastTop, x -> new LinkedHashSet<>()).add(t.replace("`", ""));
                }
                out.put(command, keys);
            } else if (line.startsWith("| `") && current != null) {
                Matcher k = KEY.matcher(line.split("\\|")[1]);
                while (k.find()) current.add(k.group(1));
            }
        }
        return out;
    }
}
