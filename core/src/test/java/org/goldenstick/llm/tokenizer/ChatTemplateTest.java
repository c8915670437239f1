package org.goldenstick.llm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.goldenstick.llm.tokenizer.ChatTemplate.Message;
import org.junit.jupiter.api.Test;

/**
 * Chat templates of the families people quantize, rendered by the Jinja-subset interpreter and compared with the
 * prompt formats their model cards document; the interpreter's Jinja semantics (whitespace control, scoping,
 * loops, filters, tests) checked one by one; constructs outside the subset fail naming them.
 */
class ChatTemplateTest {

    private static final List<Message> SYSTEM_USER = List.of(new Message("system", "You are a helpful assistant."), new Message("user", "  What is 2+2? \n"));
    private static final List<Message> THREE_TURNS = List.of(new Message("user", "Hi"), new Message("assistant", "Hello!"), new Message("user", "Bye"));

    private static ChatTemplate fixture(String name) {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("chat/" + name + ".jinja")) {
            if (in == null) throw new IllegalStateException("missing fixture chat/" + name + ".jinja");
            return ChatTemplate.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String render(String fixture, List<Message> messages, String bos, String eos, boolean generationPrompt) {
        return render(fixture, messages, Map.of("bos_token", bos, "eos_token", eos, "add_generation_prompt", generationPrompt));
    }

    private static String render(String fixture, List<Message> messages, Map<String, ?> vars) {
        return fixture(fixture).render(messages, vars);
    }

    private static String render(String source) {
        return ChatTemplate.parse(source).render(List.of(), Map.of());
    }

    @Test
    void llama3() {
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                render("llama-3-instruct", SYSTEM_USER, "<|begin_of_text|>", "<|end_of_text|>", true));
    }

    @Test
    void llama32WithSystemMessageAndWithout() {
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                        + "You are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                render("llama-3.2-instruct", SYSTEM_USER, "<|begin_of_text|>", "<|eot_id|>", true));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 1 Dec 2026\n\n<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>",
                render("llama-3.2-instruct", THREE_TURNS, Map.of("bos_token", "<|begin_of_text|>", "date_string", "1 Dec 2026")));
    }

    /** Llama 3.1+ templates date the system turn with transformers' strftime_now when it is defined. */
    @Test
    void llama32DatesTheSystemTurnWithStrftimeNow() {
        var clock = java.time.Clock.fixed(java.time.Instant.parse("2026-03-07T09:05:00Z"), java.time.ZoneOffset.UTC);
        String out = render("llama-3.2-instruct", List.of(new Message("user", "Hi")), Map.of("bos_token", "<|begin_of_text|>", "strftime_now", ChatTemplate.strftimeNow(clock)));
        assertTrue(out.contains("Today Date: 07 Mar 2026\n"), out);
        assertEquals("2026-03-07 09:05:00 AM % 066 Saturday", ChatTemplate.parse("{{ strftime_now('%Y-%m-%d %H:%M:%S %p %% %j %A') }}")
                .render(List.of(), Map.of("strftime_now", ChatTemplate.strftimeNow(clock))));
    }

    @Test
    void qwen25DefaultSystemAndMultiTurn() {
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                render("qwen2.5-instruct", List.of(new Message("user", "Hi")), "", "<|im_end|>", true));
        List<Message> withSystem = List.of(new Message("system", "Be brief."), new Message("user", "Hi"), new Message("assistant", "Hello!"), new Message("user", "Bye"));
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n",
                render("qwen2.5-instruct", withSystem, "", "<|im_end|>", false));
    }

    @Test
    void qwen3DropsPastReasoningAndCanSwitchThinkingOff() {
        List<Message> chat = List.of(new Message("user", "Hi"), new Message("assistant", "<think>\nThe user greets me.\n</think>\n\nHello!"), new Message("user", "Bye"));
        String head = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n";
        assertEquals(head, render("qwen3", chat, Map.of("add_generation_prompt", true)));
        assertEquals(head + "<think>\n\n</think>\n\n", render("qwen3", chat, Map.of("add_generation_prompt", true, "enable_thinking", false)));
        // The reasoning of the turn after the last user message is kept.
        List<Message> last = List.of(new Message("user", "Hi"), new Message("assistant", "<think>\nGreeting.\n</think>\n\nHello!"));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nGreeting.\n</think>\n\nHello!<|im_end|>\n",
                render("qwen3", last, Map.of()));
    }

    @Test
    void mistralAlternatesAndRefusesSystem() {
        assertEquals("<s>[INST] Hi [/INST]Hello!</s>[INST] Bye [/INST]", render("mistral-7b-instruct-v0.2", THREE_TURNS, "<s>", "</s>", true));
        TokenizerException e = assertThrows(TokenizerException.class, () -> render("mistral-7b-instruct-v0.2", SYSTEM_USER, "<s>", "</s>", true));
        assertTrue(e.getMessage().contains("Conversation roles must alternate user/assistant/user/assistant/..."), e.getMessage());
    }

    @Test
    void mistralNemoPutsTheSystemMessageIntoTheLastUserTurn() {
        assertEquals("<s>[INST]Hi[/INST]Hello!</s>[INST]Bye[/INST]", render("mistral-nemo-instruct-2407", THREE_TURNS, "<s>", "</s>", true));
        List<Message> chat = List.of(new Message("system", "Be brief."), new Message("user", "Hi"), new Message("assistant", "Hello!"), new Message("user", "Bye"));
        assertEquals("<s>[INST]Hi[/INST]Hello!</s>[INST]Be brief.\n\nBye[/INST]", render("mistral-nemo-instruct-2407", chat, "<s>", "</s>", true));
        TokenizerException e = assertThrows(TokenizerException.class, () -> render("mistral-nemo-instruct-2407", List.of(new Message("assistant", "x")), "<s>", "</s>", true));
        assertTrue(e.getMessage().contains("must alternate"), e.getMessage());
    }

    /** Command-R's template (GGUF, with its tool-use and RAG variants beside it) renders the documented turn tokens. */
    @Test
    void commandR() {
        ChatPrompt c = ChatPrompt.of(TokenizerData.vocab("command-r")).orElseThrow();
        assertEquals("<BOS_TOKEN><|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hi<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
                c.render(List.of(new Message("user", "Hi")), true));
    }

    @Test
    void gemma2MapsAssistantToModelAndRefusesSystem() {
        assertEquals("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n",
                render("gemma-2-it", THREE_TURNS, "<bos>", "<eos>", true));
        TokenizerException e = assertThrows(TokenizerException.class, () -> render("gemma-2-it", SYSTEM_USER, "<bos>", "<eos>", true));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
    }

    @Test
    void phi35() {
        List<Message> chat = List.of(new Message("system", "Be brief."), new Message("user", "Hi"));
        assertEquals("<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n", render("phi-3.5-mini-instruct", chat, "<s>", "<|endoftext|>", true));
        assertEquals("<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|endoftext|>", render("phi-3.5-mini-instruct", chat, "<s>", "<|endoftext|>", false));
    }

    /** Qwen2 and Phi-3 templates as their GGUF files carry them; the rendered prompt tokenizes with the control tokens. */
    @Test
    void ggufTemplatesRenderAndTokenizeWithSpecialTokens() {
        ChatPrompt qwen = ChatPrompt.of(TokenizerData.vocab("qwen2")).orElseThrow();
        String q = qwen.render(List.of(new Message("user", "Hi")), true);
        assertEquals("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", q);
        Tokenizer qt = TokenizerData.load(TokenizerData.vocab("qwen2"));
        int imStart = qt.tokenId("<|im_start|>"), imEnd = qt.tokenId("<|im_end|>");
        int[] ids = qt.encodeWithSpecialTokens(q, false);
        assertEquals(imStart, ids[0]);
        assertEquals(3, java.util.Arrays.stream(ids).filter(i -> i == imStart).count());
        assertEquals(2, java.util.Arrays.stream(ids).filter(i -> i == imEnd).count());
        assertTrue(qt.decode(ids).contains("You are a helpful assistant"));
        assertTrue(java.util.Arrays.stream(qt.encode(q, false)).noneMatch(i -> i == imStart), "plain encode reads '<|im_start|>' as text");

        ChatPrompt phi = ChatPrompt.of(TokenizerData.vocab("phi-3")).orElseThrow();
        assertEquals("<s>", phi.bosToken());
        String p = phi.render(List.of(new Message("user", "Hi")), true);
        assertEquals("<s><|user|>\nHi<|end|>\n<|assistant|>\n", p);
        Tokenizer pt = TokenizerData.load(TokenizerData.vocab("phi-3"));
        int[] pids = pt.encodeWithSpecialTokens(p, false);
        assertEquals(List.of(pt.bosId(), pt.tokenId("<|user|>")), List.of(pids[0], pids[1]));
        assertTrue(java.util.Arrays.stream(pids).anyMatch(i -> i == pt.tokenId("<|assistant|>")));
    }

    @Test
    void vocabularyWithoutTemplateHasNone() {
        assertTrue(ChatPrompt.of(TokenizerData.vocab("gpt-2")).isEmpty());
    }

    @Test
    void whitespaceControlAsHuggingFaceConfiguresJinja() {
        assertEquals("  a\n", render("{% if true %}\n  a\n{% endif %}\n"), "trim_blocks, lstrip_blocks, trailing newline dropped");
        assertEquals("ab", render("a  {%- if true -%}  b  {%- endif %}"));
        assertEquals("1", render("   {% set x = 1 %}{{ x }}"));
        assertEquals("x  ", render("x  {% set y = 1 %}"), "lstrip only at the start of a line");
        assertEquals(" 1 \n", render("{{ 1 }}{# c #}\n{{ ' 1 ' }}\n\n").substring(1), "comments trim their newline; output tags do not");
        assertEquals("a\n", render("{%- for x in ['a'] %}\n    {{- x }}\n{% endfor %}"));
    }

    @Test
    void jinjaSemantics() {
        assertEquals("1,2,3", render("{% for x in [1,2,3] %}{{ loop.index }}{{ ',' if not loop.last }}{% endfor %}"));
        assertEquals("1", render("{% set a = 1 %}{% for x in [1] %}{% set a = 2 %}{% endfor %}{{ a }}"), "a for loop's set does not leak");
        assertEquals("2", render("{% set ns = namespace(a=1) %}{% for x in [1] %}{% set ns.a = 2 %}{% endfor %}{{ ns.a }}"));
        assertEquals("[3, 2, 1] bc c", render("{{ [1,2,3][::-1] }} {{ 'abc'[1:] }} {{ 'abc'[-1] }}"));
        assertEquals("b|a", render("{{ 'a</think>b'.split('</think>')[-1] }}|{{ '\\n\\na\\n'.strip('\\n') }}"));
        assertEquals("3 1 -4 3.5", render("{{ 7 // 2 }} {{ 7 % 3 }} {{ -7 // 2 }} {{ 7 / 2 }}"));
        assertEquals("None||False|True", render("{{ none }}|{{ x }}|{{ x is defined }}|{{ x is not defined }}"));
        assertEquals("{\"a\": [1, \"b\", true, null]}", render("{{ {'a': [1, 'b', true, none]} | tojson }}"));
        assertEquals("{\n  \"a\": 1\n}", render("{{ {'a': 1} | tojson(indent=2) }}"));
        assertEquals("ab", render("{{ 'a' + ' b ' | trim }}"), "filters bind tighter than +");
        assertEquals("2 True False", render("{{ [1, 2] | length }} {{ 'b' in 'abc' }} {{ 3 not in [1, 2, 3] }}"));
        assertEquals("a=1;b=2;", render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"));
        assertEquals("2,4", render("{% for x in [1,2,3,4] if x is even %}{{ x }}{{ ',' if not loop.last }}{% endfor %}"));
        assertEquals("12", render("{% for x in [1,2,3] %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"));
        assertEquals("empty", render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"));
        assertEquals("B", render("{% if false %}A{% elif 1 > 0 and not none %}B{% else %}C{% endif %}"));
        assertEquals("x-y", render("{{ ['x', 'y'] | join('-') }}"));
        assertEquals("fallback", render("{{ missing | default('fallback') }}"));
        assertEquals("[{'role': 'user'}] ['a', 'b']", render("{{ [{'role': 'user'}, {'role': 'x'}] | selectattr('role', 'equalto', 'user') | list }} {{ [{'n': 'a'}, {'n': 'b'}] | map(attribute='n') | list }}"));
    }

    @Test
    void unsupportedConstructsAreNamed() {
        assertTrue(assertThrows(TokenizerException.class, () -> ChatTemplate.parse("{% macro f() %}x{% endmacro %}")).getMessage().contains("{% macro %}"));
        assertTrue(assertThrows(TokenizerException.class, () -> ChatTemplate.parse("{% include 'x.jinja' %}")).getMessage().contains("{% include %}"));
        TokenizerException f = assertThrows(TokenizerException.class, () -> ChatTemplate.parse("line one\n{{ messages | groupby('role') | list }}"));
        assertTrue(f.getMessage().contains("'groupby'") && f.getMessage().contains("line 2"), f.getMessage());
        assertTrue(assertThrows(TokenizerException.class, () -> ChatTemplate.parse("{{ x is sameas y }}")).getMessage().contains("'is sameas'"));
        assertTrue(assertThrows(TokenizerException.class, () -> ChatTemplate.parse("{% if x %}a")).getMessage().contains("endif"));
        assertTrue(assertThrows(TokenizerException.class, () -> ChatTemplate.parse("{{ 'a' ")).getMessage().contains("never closed"));
        TokenizerException u = assertThrows(TokenizerException.class, () -> render("{{ missing.role }}"));
        assertTrue(u.getMessage().contains("'missing' is undefined"), u.getMessage());
        TokenizerException c = assertThrows(TokenizerException.class, () -> render("{{ strftime_now('%d') }}"));
        assertTrue(c.getMessage().contains("'strftime_now' is undefined"), c.getMessage());
        var clock = java.time.Clock.fixed(java.time.Instant.parse("2026-03-07T09:05:00Z"), java.time.ZoneOffset.UTC);
        TokenizerException d = assertThrows(TokenizerException.class, () -> ChatTemplate.parse("{{ strftime_now('%Q') }}").render(List.of(), Map.of("strftime_now", ChatTemplate.strftimeNow(clock))));
        assertTrue(d.getMessage().contains("%Q"), d.getMessage());
    }

    /**
     * Bad templates fail with a TokenizerException, never with another exception: every fixture, mutated by
     * deleting, duplicating or inserting Jinja-significant characters at random places, either renders or says why.
     */
    @Test
    void mutatedTemplatesFailOnlyWithClearErrors() {
        java.util.Random rnd = new java.util.Random(17);
        String alphabet = "{}%#-+()[]'\"|.,:=!<>~*/ \n0123456789aeinrstlox_\\";
        List<Message> chat = List.of(new Message("system", "s"), new Message("user", "Hi"), new Message("assistant", "<think>x</think>y"), new Message("user", "Bye"));
        Map<String, Object> vars = Map.of("bos_token", "<s>", "eos_token", "</s>", "add_generation_prompt", true);
        int rendered = 0, refused = 0;
        for (String name : List.of("llama-3-instruct", "llama-3.2-instruct", "qwen2.5-instruct", "qwen3", "mistral-7b-instruct-v0.2", "mistral-nemo-instruct-2407",
                "gemma-2-it", "phi-3.5-mini-instruct")) {
            String src;
            try (InputStream in = ChatTemplateTest.class.getResourceAsStream("chat/" + name + ".jinja")) {
                src = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            for (int trial = 0; trial < 200; trial++) {
                StringBuilder b = new StringBuilder(src);
                for (int k = 1 + rnd.nextInt(3); k > 0; k--) {
                    int at = rnd.nextInt(b.length());
                    switch (rnd.nextInt(3)) {
                        case 0 -> b.deleteCharAt(at);
                        case 1 -> b.insert(at, b.charAt(at));
                        default -> b.insert(at, alphabet.charAt(rnd.nextInt(alphabet.length())));
                    }
                }
                try {
                    ChatTemplate.parse(b.toString()).render(chat, vars);
                    rendered++;
                } catch (TokenizerException e) {
                    assertTrue(e.getMessage().startsWith("chat template"), e.getMessage());
                    refused++;
                } catch (RuntimeException e) {
                    throw new AssertionError(name + " trial " + trial + ": " + e + " on\n" + b, e);
                }
            }
        }
        assertTrue(rendered > 100 && refused > 100, "rendered " + rendered + ", refused " + refused);
    }
}
