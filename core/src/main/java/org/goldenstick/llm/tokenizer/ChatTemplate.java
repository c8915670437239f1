package org.goldenstick.llm.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A chat template (the Jinja text of tokenizer_config.json {@code chat_template} or GGUF
 * {@code tokenizer.chat_template}) rendered by a small interpreter of the Jinja subset chat templates use, with
 * the environment Hugging Face renders them in ({@code trim_blocks}, {@code lstrip_blocks}, no trailing newline).
 *
 * <p>Supported: {@code {{ }}}, {@code {% if/elif/else %}}, {@code {% for x in xs [if c] %}} (with
 * {@code loop.index/index0/first/last/length/revindex/previtem/nextitem}, tuple targets, {@code else},
 * {@code break}/{@code continue}), {@code {% set %}} (names and namespace attributes), comments and the
 * {@code -}/{@code +} whitespace controls; literals (strings, numbers, booleans, none, lists, dicts), attribute and
 * subscript access, slices, {@code + - * / // % ~}, comparisons, {@code in}, {@code and/or/not}, conditional
 * expressions, the tests {@code defined none string number integer mapping iterable sequence boolean true false
 * even odd divisibleby equalto}, the filters {@code trim length count upper lower capitalize title tojson string
 * int float list first last join default replace items selectattr rejectattr map(attribute=…)}, Python string
 * methods ({@code strip split startswith …}), dict methods ({@code items keys values get}), the globals {@code raise_exception}, {@code namespace},
 * {@code range}, and {@link HostFunction}s passed as variables ({@link #strftimeNow}). Anything else is a
 * {@link TokenizerException} naming the construct and its line.
 *
 * <pre>{@code
 * ChatTemplate t = ChatTemplate.parse(source);
 * String prompt = t.render(List.of(new ChatTemplate.Message("user", "Hi")), Map.of("bos_token", "<s>", "add_generation_prompt", true));
 * }</pre>
 */
public final class ChatTemplate {

    /** One chat message. */
    public record Message(String role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }

        Map<String, Object> asMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("role", role);
            m.put("content", content);
            return m;
        }
    }

    private final List<Node> body;

    private ChatTemplate(List<Node> body) {
        this.body = body;
    }

    /** Parses a template; fails naming the first construct outside the supported subset. */
    public static ChatTemplate parse(String source) {
        List<Tok> toks = lex(source);
        Parser p = new Parser(toks);
        List<Node> body = p.block(List.of());
        if (p.pos < toks.size()) throw p.error(toks.get(p.pos), "unexpected {% " + toks.get(p.pos).text.strip() + " %}");
        return new ChatTemplate(body);
    }

    /**
     * Renders the messages; {@code variables} adds or overrides names such as {@code bos_token},
     * {@code eos_token}, {@code add_generation_prompt}, {@code enable_thinking}, {@code tools}.
     */
    public String render(List<Message> messages, Map<String, ?> variables) {
        Scope global = new Scope(null);
        List<Object> ms = new ArrayList<>();
        for (Message m : messages) ms.add(m.asMap());
        global.vars.put("messages", ms);
        global.vars.put("add_generation_prompt", false);
        global.vars.putAll(variables);
        StringBuilder out = new StringBuilder();
        try {
            exec(body, global, out);
        } catch (LoopSignal s) {
            throw new TokenizerException("chat template: {% " + s.kind + " %} outside a for loop");
        }
        return out.toString();
    }

    /** A function the caller puts among the variables (e.g. {@code strftime_now}); argument errors as IllegalArgumentException. */
    @FunctionalInterface
    public interface HostFunction {
        Object apply(List<Object> args);
    }

    /**
     * transformers' {@code strftime_now(format)}: the clock's current time in Python {@code strftime} notation
     * (Llama 3.1+ templates print today's date with it); directives {@code %d %m %Y %y %b %B %a %A %H %I %M %S
     * %p %j %%}.
     */
    public static HostFunction strftimeNow(java.time.Clock clock) {
        return args -> {
            if (args.size() != 1 || !(args.get(0) instanceof String fmt)) throw new IllegalArgumentException("strftime_now(format) takes one string");
            java.time.LocalDateTime t = java.time.LocalDateTime.now(clock);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < fmt.length(); i++) {
                char ch = fmt.charAt(i);
                if (ch != '%' || i + 1 == fmt.length()) {
                    sb.append(ch);
                    continue;
                }
                char d = fmt.charAt(++i);
                String pattern = switch (d) {
                    case 'd' -> "dd";
                    case 'm' -> "MM";
                    case 'Y' -> "yyyy";
                    case 'y' -> "yy";
                    case 'b' -> "MMM";
                    case 'B' -> "MMMM";
                    case 'a' -> "EEE";
                    case 'A' -> "EEEE";
                    case 'H' -> "HH";
                    case 'I' -> "hh";
                    case 'M' -> "mm";
                    case 'S' -> "ss";
                    case 'p' -> "a";
                    case 'j' -> "DDD";
                    case '%' -> "'%'";
                    default -> throw new IllegalArgumentException("strftime_now: the directive %" + d + " is not supported");
                };
                sb.append(java.time.format.DateTimeFormatter.ofPattern(pattern, java.util.Locale.ENGLISH).format(t));
            }
            return sb.toString();
        };
    }

    // ------------------------------------------------------------------ lexing

    /** A piece of template source: literal text, an output expression, or a statement. */
    private record Tok(char kind, String text, int line) {} // kind: 't' text, 'o' {{ }}, 's' {% %}

    private static List<Tok> lex(String src) {
        if (src.endsWith("\n")) src = src.substring(0, src.length() - 1); // Jinja drops one trailing newline
        List<Tok> out = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        int i = 0, n = src.length();
        boolean trimNextNewline = false, stripNextWhitespace = false;
        while (i < n) {
            int open = src.indexOf('{', i);
            while (open >= 0 && open + 1 < n && "{%#".indexOf(src.charAt(open + 1)) < 0) open = src.indexOf('{', open + 1);
            if (open < 0 || open + 1 >= n) open = n;
            String chunk = src.substring(i, open);
            if (stripNextWhitespace) chunk = chunk.stripLeading();
            else if (trimNextNewline && chunk.startsWith("\n")) chunk = chunk.substring(1);
            else if (trimNextNewline && chunk.startsWith("\r\n")) chunk = chunk.substring(2);
            text.append(chunk);
            if (open >= n) break;
            char kind = src.charAt(open + 1);
            String close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            int end = findClose(src, open + 2, close, kind);
            if (end < 0) throw new TokenizerException("chat template line " + lineOf(src, open) + ": '" + src.substring(open, open + 2) + "' is never closed");
            String inner = src.substring(open + 2, end);
            boolean stripBefore = inner.startsWith("-"), keepBefore = inner.startsWith("+");
            boolean stripAfter = inner.endsWith("-") && inner.length() > (stripBefore ? 1 : 0), keepAfter = inner.endsWith("+");
            if (stripBefore || keepBefore) inner = inner.substring(1);
            if ((stripAfter || keepAfter) && !inner.isEmpty()) inner = inner.substring(0, inner.length() - 1);
            if (stripBefore) {
                int k = text.length();
                while (k > 0 && Character.isWhitespace(text.charAt(k - 1))) k--;
                text.setLength(k);
            } else if (kind != '{' && !keepBefore) {
                // lstrip_blocks: spaces and tabs between the start of a source line and a block or comment tag
                int k = open;
                while (k > 0 && (src.charAt(k - 1) == ' ' || src.charAt(k - 1) == '\t')) k--;
                if (k == 0 || src.charAt(k - 1) == '\n') {
                    int drop = open - k;
                    int t = text.length();
                    while (drop > 0 && t > 0 && (text.charAt(t - 1) == ' ' || text.charAt(t - 1) == '\t')) {
                        t--;
                        drop--;
                    }
                    text.setLength(t);
                }
            }
            if (!text.isEmpty()) out.add(new Tok('t', text.toString(), lineOf(src, i)));
            text.setLength(0);
            if (kind == '{') out.add(new Tok('o', inner, lineOf(src, open)));
            else if (kind == '%') out.add(new Tok('s', inner, lineOf(src, open)));
            stripNextWhitespace = stripAfter;
            trimNextNewline = !stripAfter && !keepAfter && kind != '{'; // trim_blocks
            i = end + 2;
        }
        if (!text.isEmpty()) out.add(new Tok('t', text.toString(), lineOf(src, Math.max(0, n - 1))));
        return out;
    }

    /** The closing delimiter, skipping string literals inside expressions. */
    private static int findClose(String src, int from, String close, char kind) {
        if (kind == '#') return src.indexOf(close, from);
        char quote = 0;
        for (int k = from; k < src.length() - 1; k++) {
            char c = src.charAt(k);
            if (quote != 0) {
                if (c == '\\') k++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (src.startsWith(close, k)) {
                return k;
            }
        }
        return -1;
    }

    private static int lineOf(String src, int pos) {
        int line = 1;
        for (int k = 0; k < pos && k < src.length(); k++) if (src.charAt(k) == '\n') line++;
        return line;
    }

    // ------------------------------------------------------------------ syntax tree

    private sealed interface Node permits Text, Output, If, For, SetVar, SetAttr, LoopControl {}

    private record Text(String text) implements Node {}

    private record Output(Expr expr) implements Node {}

    private record If(List<Expr> conditions, List<List<Node>> bodies, List<Node> elseBody) implements Node {}

    private record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> elseBody, int line) implements Node {}

    private record SetVar(String name, Expr value) implements Node {}

    private record SetAttr(String object, String attr, Expr value, int line) implements Node {}

    private record LoopControl(String kind) implements Node {}

    private sealed interface Expr permits Lit, Var, Attr, Item, Slice, Call, Filter, Test, Unary, Binary, Cond, ListLit, DictLit {}

    private record Lit(Object value) implements Expr {}

    private record Var(String name) implements Expr {}

    private record Attr(Expr target, String name, int line) implements Expr {}

    private record Item(Expr target, Expr key, int line) implements Expr {}

    private record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {}

    private record Call(Expr fn, List<Expr> args, Map<String, Expr> kwargs, int line) implements Expr {}

    private record Filter(Expr target, String name, List<Expr> args, Map<String, Expr> kwargs, int line) implements Expr {}

    private record Test(Expr target, String name, List<Expr> args, boolean negated, int line) implements Expr {}

    private record Unary(String op, Expr operand, int line) implements Expr {}

    private record Binary(String op, Expr left, Expr right, int line) implements Expr {}

    private record Cond(Expr condition, Expr then, Expr otherwise) implements Expr {}

    private record ListLit(List<Expr> items) implements Expr {}

    private record DictLit(List<Expr> keys, List<Expr> values) implements Expr {}

    // ------------------------------------------------------------------ parsing

    private static final java.util.Set<String> FILTERS = java.util.Set.of("trim", "length", "count", "upper", "lower", "capitalize", "title", "tojson",
            "string", "int", "float", "list", "first", "last", "join", "default", "d", "replace", "items", "safe", "selectattr", "rejectattr", "map");
    private static final java.util.Set<String> TESTS = java.util.Set.of("defined", "undefined", "none", "string", "number", "integer", "float", "mapping",
            "iterable", "sequence", "boolean", "true", "false", "even", "odd", "divisibleby", "equalto", "eq", "ne", "lt", "gt", "in");

    private static final class Parser {
        final List<Tok> toks;
        int pos;

        Parser(List<Tok> toks) {
            this.toks = toks;
        }

        TokenizerException error(Tok t, String msg) {
            return new TokenizerException("chat template line " + t.line + ": " + msg);
        }

        /** Nodes up to (not including) a statement whose keyword is in {@code enders}. */
        List<Node> block(List<String> enders) {
            List<Node> nodes = new ArrayList<>();
            while (pos < toks.size()) {
                Tok t = toks.get(pos);
                switch (t.kind) {
                    case 't' -> {
                        nodes.add(new Text(t.text));
                        pos++;
                    }
                    case 'o' -> {
                        nodes.add(new Output(new ExprParser(t).parseAll()));
                        pos++;
                    }
                    default -> {
                        String kw = keyword(t);
                        if (enders.contains(kw)) return nodes;
                        pos++;
                        nodes.add(statement(t, kw));
                    }
                }
            }
            if (!enders.isEmpty()) throw new TokenizerException("chat template: missing {% " + enders.get(enders.size() - 1) + " %} at the end");
            return nodes;
        }

        static String keyword(Tok t) {
            String s = t.text.strip();
            int k = 0;
            while (k < s.length() && (Character.isLetterOrDigit(s.charAt(k)) || s.charAt(k) == '_')) k++;
            return s.substring(0, k);
        }

        Node statement(Tok t, String kw) {
            String rest = t.text.strip().substring(kw.length());
            switch (kw) {
                case "if" -> {
                    List<Expr> conds = new ArrayList<>();
                    List<List<Node>> bodies = new ArrayList<>();
                    conds.add(new ExprParser(t, rest).parseAll());
                    bodies.add(block(List.of("elif", "else", "endif")));
                    List<Node> elseBody = List.of();
                    while (true) {
                        if (pos >= toks.size()) throw error(t, "{% if %} without {% endif %}");
                        Tok e = toks.get(pos++);
                        String k = keyword(e);
                        String r = e.text.strip().substring(k.length());
                        if (k.equals("elif")) {
                            conds.add(new ExprParser(e, r).parseAll());
                            bodies.add(block(List.of("elif", "else", "endif")));
                        } else if (k.equals("else")) {
                            elseBody = block(List.of("endif"));
                        } else {
                            break; // endif
                        }
                    }
                    return new If(conds, bodies, elseBody);
                }
                case "for" -> {
                    ExprParser ep = new ExprParser(t, rest);
                    List<String> targets = new ArrayList<>();
                    targets.add(ep.name());
                    while (ep.peek(",")) {
                        ep.next();
                        targets.add(ep.name());
                    }
                    ep.expectWord("in");
                    Expr iterable = ep.orExpr();
                    Expr filter = null;
                    if (ep.peekWord("if")) {
                        ep.next();
                        filter = ep.expr();
                    }
                    if (ep.peekWord("recursive")) throw error(t, "recursive for loops are not supported");
                    ep.end();
                    List<Node> body = block(List.of("else", "endfor"));
                    List<Node> elseBody = List.of();
                    if (keyword(toks.get(pos)).equals("else")) {
                        pos++;
                        elseBody = block(List.of("endfor"));
                    }
                    pos++; // endfor
                    return new For(targets, iterable, filter, body, elseBody, t.line);
                }
                case "set" -> {
                    ExprParser ep = new ExprParser(t, rest);
                    String name = ep.name();
                    String attr = null;
                    if (ep.peek(".")) {
                        ep.next();
                        attr = ep.name();
                    }
                    if (!ep.peek("=")) throw error(t, "{% set " + name + " %}…{% endset %} blocks are not supported");
                    ep.next();
                    Expr value = ep.expr();
                    ep.end();
                    return attr == null ? new SetVar(name, value) : new SetAttr(name, attr, value, t.line);
                }
                case "break", "continue" -> {
                    return new LoopControl(kw);
                }
                case "generation" -> { // transformers' AssistantTracker: marks the assistant's text, renders as is
                    List<Node> body = block(List.of("endgeneration"));
                    pos++;
                    return new If(List.of(new Lit(true)), List.of(body), List.of());
                }
                default -> throw error(t, "the statement {% " + (kw.isEmpty() ? t.text.strip() : kw) + " %} is not supported by this chat-template interpreter"
                        + " (supported: if/elif/else, for, set, break, continue)");
            }
        }
    }

    /** Recursive-descent parser over the tokens of one expression, with Jinja's precedence. */
    private static final class ExprParser {
        private final List<String> t = new ArrayList<>();
        private final Tok src;
        private int p;

        ExprParser(Tok src) {
            this(src, src.text);
        }

        ExprParser(Tok src, String text) {
            this.src = src;
            tokenize(text);
        }

        TokenizerException error(String msg) {
            return new TokenizerException("chat template line " + src.line + ": " + msg + " in '" + src.text.strip() + "'");
        }

        private void tokenize(String s) {
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                } else if (c == '\'' || c == '"') {
                    int j = i + 1;
                    StringBuilder b = new StringBuilder("\"");
                    while (j < s.length() && s.charAt(j) != c) {
                        char d = s.charAt(j);
                        if (d == '\\' && j + 1 < s.length()) {
                            char e = s.charAt(++j);
                            switch (e) {
                                case 'n' -> b.append('\n');
                                case 't' -> b.append('\t');
                                case 'r' -> b.append('\r');
                                case '0' -> b.append('\0');
                                case '\\', '\'', '"' -> b.append(e);
                                case 'u', 'x' -> {
                                    int len = e == 'u' ? 4 : 2;
                                    b.append((char) hex(s, j + 1, len));
                                    j += len;
                                }
                                default -> b.append('\\').append(e);
                            }
                        } else {
                            b.append(d);
                        }
                        j++;
                    }
                    if (j >= s.length()) throw error("unterminated string");
                    t.add(b.toString());
                    i = j + 1;
                } else if (Character.isDigit(c)) {
                    int j = i;
                    while (j < s.length() && (Character.isDigit(s.charAt(j)) || s.charAt(j) == '.' && j + 1 < s.length() && Character.isDigit(s.charAt(j + 1)))) j++;
                    t.add("#" + s.substring(i, j));
                    i = j;
                } else if (Character.isLetter(c) || c == '_') {
                    int j = i;
                    while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) j++;
                    t.add(s.substring(i, j));
                    i = j;
                } else {
                    String two = i + 1 < s.length() ? s.substring(i, i + 2) : "";
                    if (List.of("==", "!=", "<=", ">=", "//", "**").contains(two)) {
                        t.add(two);
                        i += 2;
                    } else if ("+-*/%~<>()[]{}.,:|=".indexOf(c) >= 0) {
                        t.add(String.valueOf(c));
                        i++;
                    } else {
                        throw error("unexpected character '" + c + "'");
                    }
                }
            }
        }

        private int hex(String s, int from, int len) {
            if (from + len > s.length() || !s.substring(from, from + len).matches("[0-9a-fA-F]+")) throw error("bad \\u or \\x escape in a string");
            return Integer.parseInt(s.substring(from, from + len), 16);
        }

        boolean peek(String s) {
            return p < t.size() && t.get(p).equals(s);
        }

        boolean peekWord(String w) {
            return peek(w);
        }

        String next() {
            if (p >= t.size()) throw error("unexpected end of expression");
            return t.get(p++);
        }

        void expect(String s) {
            String n = next();
            if (!n.equals(s)) throw error("expected '" + s + "' but found '" + display(n) + "'");
        }

        void expectWord(String w) {
            expect(w);
        }

        static String display(String tok) {
            return tok.startsWith("\"") ? "'" + tok.substring(1) + "'" : tok.startsWith("#") ? tok.substring(1) : tok;
        }

        String name() {
            String n = next();
            if (n.isEmpty() || !(Character.isLetter(n.charAt(0)) || n.charAt(0) == '_')) throw error("expected a name but found '" + display(n) + "'");
            return n;
        }

        void end() {
            if (p < t.size()) throw error("unexpected '" + display(t.get(p)) + "'");
        }

        Expr parseAll() {
            Expr e = expr();
            end();
            return e;
        }

        Expr expr() {
            Expr e = orExpr();
            if (peekWord("if")) {
                next();
                Expr cond = orExpr();
                Expr otherwise = null;
                if (peekWord("else")) {
                    next();
                    otherwise = expr();
                }
                return new Cond(cond, e, otherwise);
            }
            return e;
        }

        Expr orExpr() {
            Expr e = andExpr();
            while (peekWord("or")) {
                next();
                e = new Binary("or", e, andExpr(), src.line);
            }
            return e;
        }

        Expr andExpr() {
            Expr e = notExpr();
            while (peekWord("and")) {
                next();
                e = new Binary("and", e, notExpr(), src.line);
            }
            return e;
        }

        Expr notExpr() {
            if (peekWord("not")) {
                next();
                return new Unary("not", notExpr(), src.line);
            }
            return compare();
        }

        Expr compare() {
            Expr e = math1();
            while (true) {
                if (peek("==") || peek("!=") || peek("<") || peek(">") || peek("<=") || peek(">=")) {
                    String op = next();
                    e = new Binary(op, e, math1(), src.line);
                } else if (peekWord("in")) {
                    next();
                    e = new Binary("in", e, math1(), src.line);
                } else if (peekWord("not") && p + 1 < t.size() && t.get(p + 1).equals("in")) {
                    p += 2;
                    e = new Unary("not", new Binary("in", e, math1(), src.line), src.line);
                } else {
                    return e;
                }
            }
        }

        Expr math1() {
            Expr e = concat();
            while (peek("+") || peek("-")) {
                String op = next();
                e = new Binary(op, e, concat(), src.line);
            }
            return e;
        }

        Expr concat() {
            Expr e = math2();
            while (peek("~")) {
                next();
                e = new Binary("~", e, math2(), src.line);
            }
            return e;
        }

        Expr math2() {
            Expr e = unary();
            while (peek("*") || peek("/") || peek("//") || peek("%")) {
                String op = next();
                e = new Binary(op, e, unary(), src.line);
            }
            return e;
        }

        Expr unary() {
            if (peek("-")) {
                next();
                return new Unary("-", unary(), src.line);
            }
            if (peek("+")) {
                next();
                return unary();
            }
            if (peek("**")) throw error("the operator ** is not supported");
            Expr e = postfix(primary());
            // filters and tests bind tighter than the binary operators (Jinja's parse_filter_expr)
            while (true) {
                if (peek("|")) {
                    next();
                    String name = name();
                    List<Expr> args = new ArrayList<>();
                    Map<String, Expr> kwargs = new LinkedHashMap<>();
                    if (peek("(")) arguments(args, kwargs);
                    if (!FILTERS.contains(name)) throw error("the filter '" + name + "' is not supported (supported: " + String.join(", ", new java.util.TreeSet<>(FILTERS)) + ")");
                    e = new Filter(e, name, args, kwargs, src.line);
                } else if (peekWord("is")) {
                    next();
                    boolean neg = false;
                    if (peekWord("not")) {
                        next();
                        neg = true;
                    }
                    String name = name();
                    List<Expr> args = new ArrayList<>();
                    if (peek("(")) {
                        arguments(args, new LinkedHashMap<>());
                    } else if (p < t.size() && !isOperatorOrKeyword(t.get(p))) {
                        args.add(postfix(primary()));
                    }
                    if (!TESTS.contains(name)) throw error("the test 'is " + name + "' is not supported (supported: " + String.join(", ", new java.util.TreeSet<>(TESTS)) + ")");
                    e = new Test(e, name, args, neg, src.line);
                } else {
                    return e;
                }
            }
        }

        private static boolean isOperatorOrKeyword(String tok) {
            return List.of("and", "or", "not", "in", "is", "if", "else").contains(tok) || (!tok.startsWith("\"") && !tok.startsWith("#")
                    && !Character.isLetter(tok.charAt(0)) && !tok.equals("_"));
        }

        Expr primary() {
            String n = next();
            if (n.startsWith("\"")) {
                StringBuilder s = new StringBuilder(n.substring(1));
                while (p < t.size() && t.get(p).startsWith("\"")) s.append(t.get(p++).substring(1)); // adjacent literals join
                return new Lit(s.toString());
            }
            if (n.startsWith("#")) {
                String num = n.substring(1);
                try {
                    return new Lit(num.contains(".") ? (Object) Double.parseDouble(num) : (Object) Long.parseLong(num));
                } catch (NumberFormatException e) {
                    throw error("the number " + num + " cannot be read");
                }
            }
            switch (n) {
                case "true", "True" -> {
                    return new Lit(true);
                }
                case "false", "False" -> {
                    return new Lit(false);
                }
                case "none", "None" -> {
                    return new Lit(null);
                }
                case "(" -> {
                    Expr e = expr();
                    if (peek(",")) throw error("tuples are not supported");
                    expect(")");
                    return e;
                }
                case "[" -> {
                    List<Expr> items = new ArrayList<>();
                    while (!peek("]")) {
                        items.add(expr());
                        if (!peek("]")) expect(",");
                    }
                    next();
                    return new ListLit(items);
                }
                case "{" -> {
                    List<Expr> keys = new ArrayList<>(), values = new ArrayList<>();
                    while (!peek("}")) {
                        keys.add(expr());
                        expect(":");
                        values.add(expr());
                        if (!peek("}")) expect(",");
                    }
                    next();
                    return new DictLit(keys, values);
                }
                default -> {
                    if (Character.isLetter(n.charAt(0)) || n.charAt(0) == '_') return new Var(n);
                    throw error("unexpected '" + display(n) + "'");
                }
            }
        }

        Expr postfix(Expr e) {
            while (true) {
                if (peek(".")) {
                    next();
                    e = new Attr(e, name(), src.line);
                } else if (peek("[")) {
                    next();
                    Expr a = null, b = null, c = null;
                    if (!peek(":")) a = expr();
                    if (peek(":")) {
                        next();
                        if (!peek("]") && !peek(":")) b = expr();
                        if (peek(":")) {
                            next();
                            if (!peek("]")) c = expr();
                        }
                        expect("]");
                        e = new Slice(e, a, b, c, src.line);
                    } else {
                        expect("]");
                        e = new Item(e, a, src.line);
                    }
                } else if (peek("(")) {
                    List<Expr> args = new ArrayList<>();
                    Map<String, Expr> kwargs = new LinkedHashMap<>();
                    arguments(args, kwargs);
                    e = new Call(e, args, kwargs, src.line);
                } else {
                    return e;
                }
            }
        }

        void arguments(List<Expr> args, Map<String, Expr> kwargs) {
            expect("(");
            while (!peek(")")) {
                if (p + 1 < t.size() && t.get(p + 1).equals("=") && Character.isLetter(t.get(p).charAt(0))) {
                    String k = next();
                    next();
                    kwargs.put(k, expr());
                } else {
                    args.add(expr());
                }
                if (!peek(")")) expect(",");
            }
            next();
        }
    }

    // ------------------------------------------------------------------ evaluation

    /** Jinja's undefined value: prints as nothing, is false, fails in arithmetic and attribute access. */
    private record Undefined(String name) {}

    /** {@code namespace(...)}: the one mutable object a template may assign attributes to. */
    private static final class Namespace {
        final Map<String, Object> attrs = new LinkedHashMap<>();
    }

    private static final class Scope {
        final Scope parent;
        final Map<String, Object> vars = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) if (s.vars.containsKey(name)) return s.vars.get(name);
            return switch (name) {
                case "raise_exception", "namespace", "range" -> new Builtin(name);
                default -> new Undefined(name);
            };
        }
    }

    private record Builtin(String name) {}

    /** A bound string/dict method, e.g. {@code content.strip}. */
    private record Method(Object self, String name) {}

    private static final class LoopSignal extends RuntimeException {
        final String kind;

        LoopSignal(String kind) {
            super(kind, null, false, false);
            this.kind = kind;
        }
    }

    private static void exec(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node n : nodes) {
            switch (n) {
                case Text t -> out.append(t.text());
                case Output o -> out.append(str(eval(o.expr(), scope)));
                case If f -> {
                    boolean done = false;
                    for (int i = 0; i < f.conditions().size() && !done; i++) {
                        if (truthy(eval(f.conditions().get(i), scope))) {
                            exec(f.bodies().get(i), scope, out);
                            done = true;
                        }
                    }
                    if (!done) exec(f.elseBody(), scope, out);
                }
                case For f -> execFor(f, scope, out);
                case SetVar s -> scope.vars.put(s.name(), eval(s.value(), scope));
                case SetAttr s -> {
                    Object ns = scope.get(s.object());
                    if (!(ns instanceof Namespace nsp)) throw new TokenizerException("chat template line " + s.line() + ": {% set " + s.object() + "." + s.attr()
                            + " %} needs a namespace() object, but '" + s.object() + "' is " + typeName(ns));
                    nsp.attrs.put(s.attr(), eval(s.value(), scope));
                }
                case LoopControl c -> throw new LoopSignal(c.kind());
            }
        }
    }

    private static void execFor(For f, Scope scope, StringBuilder out) {
        Object it = eval(f.iterable(), scope);
        // Jinja loops over an undefined value as over an empty list (Qwen's tool_calls loops rely on it)
        List<Object> items = it instanceof Undefined ? new ArrayList<>() : iterate(it, f.line());
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object x : items) {
                Scope s = new Scope(scope);
                bind(f, s, x);
                if (truthy(eval(f.filter(), s))) kept.add(x);
            }
            items = kept;
        }
        if (items.isEmpty()) {
            exec(f.elseBody(), scope, out);
            return;
        }
        int n = items.size();
        for (int i = 0; i < n; i++) {
            Scope s = new Scope(scope);
            bind(f, s, items.get(i));
            Map<String, Object> loop = new HashMap<>();
            loop.put("index", (long) i + 1);
            loop.put("index0", (long) i);
            loop.put("revindex", (long) (n - i));
            loop.put("revindex0", (long) (n - i - 1));
            loop.put("first", i == 0);
            loop.put("last", i == n - 1);
            loop.put("length", (long) n);
            loop.put("previtem", i > 0 ? items.get(i - 1) : new Undefined("loop.previtem"));
            loop.put("nextitem", i < n - 1 ? items.get(i + 1) : new Undefined("loop.nextitem"));
            s.vars.put("loop", loop);
            try {
                exec(f.body(), s, out);
            } catch (LoopSignal sig) {
                if (sig.kind.equals("break")) break;
            }
        }
    }

    private static void bind(For f, Scope s, Object item) {
        if (f.targets().size() == 1) {
            s.vars.put(f.targets().get(0), item);
            return;
        }
        if (!(item instanceof List<?> tuple) || tuple.size() != f.targets().size())
            throw new TokenizerException("chat template line " + f.line() + ": cannot unpack " + typeName(item) + " into " + String.join(", ", f.targets()));
        for (int k = 0; k < tuple.size(); k++) s.vars.put(f.targets().get(k), tuple.get(k));
    }

    private static TokenizerException err(int line, String msg) {
        return new TokenizerException("chat template line " + line + ": " + msg);
    }

    private static Object eval(Expr e, Scope scope) {
        switch (e) {
            case Lit l -> {
                return l.value();
            }
            case Var v -> {
                return scope.get(v.name());
            }
            case ListLit l -> {
                List<Object> r = new ArrayList<>();
                for (Expr x : l.items()) r.add(eval(x, scope));
                return r;
            }
            case DictLit d -> {
                Map<String, Object> r = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) r.put(str(eval(d.keys().get(i), scope)), eval(d.values().get(i), scope));
                return r;
            }
            case Attr a -> {
                return attribute(eval(a.target(), scope), a.name(), a.line(), a.target());
            }
            case Item it -> {
                Object target = eval(it.target(), scope);
                Object key = eval(it.key(), scope);
                if (key instanceof String k && !(target instanceof List<?>)) return attribute(target, k, it.line(), it.target());
                return index(target, key, it.line());
            }
            case Slice s -> {
                return slice(eval(s.target(), scope), s.start() == null ? null : eval(s.start(), scope), s.stop() == null ? null : eval(s.stop(), scope),
                        s.step() == null ? null : eval(s.step(), scope), s.line());
            }
            case Cond c -> {
                if (truthy(eval(c.condition(), scope))) return eval(c.then(), scope);
                return c.otherwise() == null ? new Undefined("else") : eval(c.otherwise(), scope);
            }
            case Unary u -> {
                Object v = eval(u.operand(), scope);
                if (u.op().equals("not")) return !truthy(v);
                if (v instanceof Long x) return -x;
                if (v instanceof Double x) return -x;
                throw err(u.line(), "cannot negate " + typeName(v));
            }
            case Binary b -> {
                return binary(b, scope);
            }
            case Test t -> {
                return test(t, scope) != t.negated();
            }
            case Filter f -> {
                return filter(f, scope);
            }
            case Call c -> {
                return call(c, scope);
            }
        }
    }

    private static Object attribute(Object target, String name, int line, Expr targetExpr) {
        if (target instanceof Undefined u) throw err(line, "'" + u.name() + "' is undefined, so it has no attribute '" + name + "'");
        if (target instanceof Map<?, ?> m) {
            if (m.containsKey(name)) return m.get(name);
            if (List.of("items", "keys", "values", "get").contains(name)) return new Method(m, name);
            return new Undefined(describe(targetExpr) + "." + name);
        }
        if (target instanceof Namespace ns) return ns.attrs.containsKey(name) ? ns.attrs.get(name) : new Undefined(name);
        if (target instanceof String s) {
            if (List.of("strip", "lstrip", "rstrip", "split", "startswith", "endswith", "upper", "lower", "replace", "title", "capitalize", "find", "count").contains(name))
                return new Method(s, name);
            throw err(line, "strings have no attribute or supported method '" + name + "'");
        }
        return new Undefined(describe(targetExpr) + "." + name);
    }

    private static String describe(Expr e) {
        return switch (e) {
            case Var v -> v.name();
            case Attr a -> describe(a.target()) + "." + a.name();
            case Item i -> describe(i.target()) + "[…]";
            default -> "value";
        };
    }

    private static Object index(Object target, Object key, int line) {
        if (target instanceof Undefined u) throw err(line, "'" + u.name() + "' is undefined, so it cannot be indexed");
        if (target instanceof List<?> l && key instanceof Long k) {
            long i = k < 0 ? l.size() + k : k;
            if (i < 0 || i >= l.size()) throw err(line, "list index " + k + " out of range (length " + l.size() + ")");
            return l.get((int) i);
        }
        if (target instanceof String s && key instanceof Long k) {
            int[] cps = s.codePoints().toArray();
            long i = k < 0 ? cps.length + k : k;
            if (i < 0 || i >= cps.length) throw err(line, "string index " + k + " out of range");
            return Character.toString(cps[(int) i]);
        }
        if (target instanceof Map<?, ?> m) return m.containsKey(str(key)) ? m.get(str(key)) : new Undefined(str(key));
        throw err(line, "cannot index " + typeName(target) + " with " + typeName(key));
    }

    private static Object slice(Object target, Object start, Object stop, Object step, int line) {
        List<Object> items = new ArrayList<>();
        boolean isString = target instanceof String;
        if (target instanceof List<?> l) items.addAll(l);
        else if (target instanceof String s) s.codePoints().forEach(cp -> items.add(Character.toString(cp)));
        else throw err(line, "cannot slice " + typeName(target));
        int n = items.size();
        long st = step == null ? 1 : asLong(step, line);
        if (st == 0) throw err(line, "slice step cannot be zero");
        long a, b;
        if (st > 0) {
            a = start == null ? 0 : clampIndex(asLong(start, line), n, false);
            b = stop == null ? n : clampIndex(asLong(stop, line), n, false);
        } else {
            a = start == null ? n - 1 : clampIndex(asLong(start, line), n, true);
            b = stop == null ? -1 : clampIndex(asLong(stop, line), n, true);
        }
        List<Object> r = new ArrayList<>();
        for (long i = a; st > 0 ? i < b : i > b; i += st) r.add(items.get((int) i));
        if (isString) {
            StringBuilder sb = new StringBuilder();
            for (Object o : r) sb.append(o);
            return sb.toString();
        }
        return r;
    }

    private static long clampIndex(long i, int n, boolean negativeStep) {
        if (i < 0) i += n;
        if (negativeStep) return Math.max(-1, Math.min(i, n - 1));
        return Math.max(0, Math.min(i, n));
    }

    private static long asLong(Object v, int line) {
        if (v instanceof Long l) return l;
        if (v instanceof Boolean b) return b ? 1 : 0;
        throw err(line, "expected an integer, got " + typeName(v));
    }

    private static Object binary(Binary b, Scope scope) {
        switch (b.op()) {
            case "and" -> {
                Object l = eval(b.left(), scope);
                return truthy(l) ? eval(b.right(), scope) : l;
            }
            case "or" -> {
                Object l = eval(b.left(), scope);
                return truthy(l) ? l : eval(b.right(), scope);
            }
            default -> {
            }
        }
        Object l = eval(b.left(), scope), r = eval(b.right(), scope);
        switch (b.op()) {
            case "==" -> {
                return pyEquals(l, r);
            }
            case "!=" -> {
                return !pyEquals(l, r);
            }
            case "~" -> {
                return str(l) + str(r);
            }
            case "in" -> {
                if (r instanceof String s && l instanceof String x) return s.contains(x);
                if (r instanceof List<?> list) return list.stream().anyMatch(x -> pyEquals(x, l));
                if (r instanceof Map<?, ?> m) return m.containsKey(str(l));
                if (r instanceof Namespace ns) return ns.attrs.containsKey(str(l));
                throw err(b.line(), "'in' needs a string, list or mapping on the right, got " + typeName(r));
            }
            default -> {
            }
        }
        if (l instanceof Undefined u) throw err(b.line(), "'" + u.name() + "' is undefined (operator " + b.op() + ")");
        if (r instanceof Undefined u) throw err(b.line(), "'" + u.name() + "' is undefined (operator " + b.op() + ")");
        if (b.op().equals("+")) {
            if (l instanceof String x && r instanceof String y) return x + y;
            if (l instanceof List<?> x && r instanceof List<?> y) {
                List<Object> z = new ArrayList<>(x);
                z.addAll(y);
                return z;
            }
        }
        if (List.of("<", ">", "<=", ">=").contains(b.op())) {
            int c;
            if (l instanceof String x && r instanceof String y) c = x.compareTo(y);
            else if (isNumber(l) && isNumber(r)) c = Double.compare(num(l), num(r));
            else throw err(b.line(), "cannot compare " + typeName(l) + " " + b.op() + " " + typeName(r));
            return switch (b.op()) {
                case "<" -> c < 0;
                case ">" -> c > 0;
                case "<=" -> c <= 0;
                default -> c >= 0;
            };
        }
        if (!isNumber(l) || !isNumber(r)) throw err(b.line(), "unsupported operand types for " + b.op() + ": " + typeName(l) + " and " + typeName(r));
        boolean ints = !(l instanceof Double) && !(r instanceof Double);
        switch (b.op()) {
            case "+" -> {
                return ints ? (Object) (lng(l) + lng(r)) : (Object) (num(l) + num(r));
            }
            case "-" -> {
                return ints ? (Object) (lng(l) - lng(r)) : (Object) (num(l) - num(r));
            }
            case "*" -> {
                return ints ? (Object) (lng(l) * lng(r)) : (Object) (num(l) * num(r));
            }
            case "/" -> {
                if (num(r) == 0) throw err(b.line(), "division by zero");
                return num(l) / num(r);
            }
            case "//" -> {
                if (num(r) == 0) throw err(b.line(), "division by zero");
                return ints ? (Object) Math.floorDiv(lng(l), lng(r)) : (Object) Math.floor(num(l) / num(r));
            }
            case "%" -> {
                if (num(r) == 0) throw err(b.line(), "modulo by zero");
                return ints ? (Object) Math.floorMod(lng(l), lng(r)) : (Object) (num(l) - num(r) * Math.floor(num(l) / num(r)));
            }
            default -> throw err(b.line(), "operator " + b.op() + " is not supported");
        }
    }

    private static double number(Object o, int line) {
        if (!isNumber(o)) throw err(line, "expected a number, got " + typeName(o));
        return num(o);
    }

    private static boolean isNumber(Object o) {
        return o instanceof Long || o instanceof Double || o instanceof Boolean;
    }

    private static double num(Object o) {
        return o instanceof Boolean b ? (b ? 1 : 0) : ((Number) o).doubleValue();
    }

    private static long lng(Object o) {
        return o instanceof Boolean b ? (b ? 1 : 0) : ((Number) o).longValue();
    }

    private static boolean pyEquals(Object a, Object b) {
        if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
        if (isNumber(a) && isNumber(b)) return num(a) == num(b);
        return Objects.equals(a, b);
    }

    private static boolean test(Test t, Scope scope) {
        Object v = eval(t.target(), scope);
        List<Object> args = new ArrayList<>();
        for (Expr a : t.args()) args.add(eval(a, scope));
        return test(t.name(), v, args, t.line());
    }

    private static boolean test(String name, Object v, List<Object> args, int line) {
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> v instanceof Long || v instanceof Double;
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "mapping" -> v instanceof Map<?, ?> || v instanceof Namespace;
            case "iterable" -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String;
            case "sequence" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>;
            case "even" -> asLong(v, line) % 2 == 0;
            case "odd" -> asLong(v, line) % 2 != 0;
            case "divisibleby" -> {
                long d = asLong(one(args, name, line), line);
                if (d == 0) throw err(line, "divisibleby(0)");
                yield asLong(v, line) % d == 0;
            }
            case "equalto", "eq" -> pyEquals(v, one(args, name, line));
            case "ne" -> !pyEquals(v, one(args, name, line));
            case "lt" -> number(v, line) < number(one(args, name, line), line);
            case "gt" -> number(v, line) > number(one(args, name, line), line);
            case "in" -> {
                Object c = one(args, name, line);
                yield c instanceof List<?> l ? l.stream().anyMatch(x -> pyEquals(x, v)) : c instanceof Map<?, ?> m ? m.containsKey(str(v)) : str(c).contains(str(v));
            }
            default -> throw err(line, "the test 'is " + name + "' is not supported");
        };
    }

    private static Object one(List<Object> args, String name, int line) {
        if (args.size() != 1) throw err(line, "the test 'is " + name + "' takes one argument");
        return args.get(0);
    }

    private static Object filter(Filter f, Scope scope) {
        Object v = eval(f.target(), scope);
        List<Object> args = new ArrayList<>();
        for (Expr a : f.args()) args.add(eval(a, scope));
        switch (f.name()) {
            case "default", "d" -> {
                Object fallback = args.isEmpty() ? "" : args.get(0);
                boolean onFalse = args.size() > 1 && truthy(args.get(1));
                return v instanceof Undefined || (onFalse && !truthy(v)) ? fallback : v;
            }
            case "safe" -> {
                return v;
            }
            case "string" -> {
                return str(v);
            }
            case "tojson" -> {
                Object indent = f.kwargs().containsKey("indent") ? eval(f.kwargs().get("indent"), scope) : args.isEmpty() ? null : args.get(0);
                StringBuilder sb = new StringBuilder();
                toJson(v, indent == null ? -1 : (int) asLong(indent, f.line()), 0, sb, f.line());
                return sb.toString();
            }
            default -> {
            }
        }
        if (v instanceof Undefined u) throw err(f.line(), "'" + u.name() + "' is undefined (filter " + f.name() + ")");
        switch (f.name()) {
            case "trim" -> {
                return pyStrip(str(v), args.isEmpty() ? null : str(args.get(0)), true, true);
            }
            case "upper" -> {
                return str(v).toUpperCase(java.util.Locale.ROOT);
            }
            case "lower" -> {
                return str(v).toLowerCase(java.util.Locale.ROOT);
            }
            case "capitalize" -> {
                String s = str(v);
                return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            }
            case "title" -> {
                StringBuilder sb = new StringBuilder();
                boolean start = true;
                for (char c : str(v).toCharArray()) {
                    sb.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
                    start = !Character.isLetterOrDigit(c);
                }
                return sb.toString();
            }
            case "length", "count" -> {
                if (v instanceof String s) return (long) s.codePointCount(0, s.length());
                if (v instanceof List<?> l) return (long) l.size();
                if (v instanceof Map<?, ?> m) return (long) m.size();
                throw err(f.line(), "filter length: " + typeName(v) + " has no length");
            }
            case "int" -> {
                if (v instanceof Long) return v;
                if (v instanceof Double d) return (long) d.doubleValue();
                try {
                    return Long.parseLong(str(v).strip());
                } catch (NumberFormatException e) {
                    return args.isEmpty() ? 0L : args.get(0);
                }
            }
            case "float" -> {
                try {
                    return num(isNumber(v) ? v : Double.parseDouble(str(v).strip()));
                } catch (NumberFormatException e) {
                    return args.isEmpty() ? 0.0 : args.get(0);
                }
            }
            case "list" -> {
                return iterate(v, f.line());
            }
            case "first", "last" -> {
                List<Object> l = iterate(v, f.line());
                if (l.isEmpty()) return new Undefined(f.name());
                return f.name().equals("first") ? l.get(0) : l.get(l.size() - 1);
            }
            case "join" -> {
                String sep = args.isEmpty() ? "" : str(args.get(0));
                StringBuilder sb = new StringBuilder();
                List<Object> l = iterate(v, f.line());
                for (int i = 0; i < l.size(); i++) sb.append(i == 0 ? "" : sep).append(str(l.get(i)));
                return sb.toString();
            }
            case "replace" -> {
                if (args.size() < 2) throw err(f.line(), "filter replace needs (old, new)");
                return str(v).replace(str(args.get(0)), str(args.get(1)));
            }
            case "selectattr", "rejectattr" -> {
                // selectattr("role", "equalto", "user"): items whose attribute passes the test (truthy without one)
                if (args.isEmpty()) throw err(f.line(), "filter " + f.name() + " needs an attribute name");
                String attr = str(args.get(0));
                String testName = args.size() > 1 ? str(args.get(1)) : null;
                if (testName != null && !TESTS.contains(testName)) throw err(f.line(), "the test '" + testName + "' is not supported");
                List<Object> r = new ArrayList<>();
                for (Object item : iterate(v, f.line())) {
                    Object a = item instanceof Map<?, ?> m ? (m.containsKey(attr) ? m.get(attr) : new Undefined(attr))
                            : item instanceof Namespace ns ? ns.attrs.getOrDefault(attr, new Undefined(attr)) : new Undefined(attr);
                    boolean pass = testName == null ? truthy(a) : test(testName, a, args.subList(2, args.size()), f.line());
                    if (pass == f.name().equals("selectattr")) r.add(item);
                }
                return r;
            }
            case "map" -> {
                Expr attrExpr = f.kwargs().get("attribute");
                if (attrExpr == null || !args.isEmpty()) throw err(f.line(), "filter map is supported only as map(attribute='name')");
                String attr = str(eval(attrExpr, scope));
                List<Object> r = new ArrayList<>();
                for (Object item : iterate(v, f.line())) r.add(item instanceof Map<?, ?> m && m.containsKey(attr) ? m.get(attr) : new Undefined(attr));
                return r;
            }
            case "items" -> {
                if (!(v instanceof Map<?, ?> m)) throw err(f.line(), "filter items needs a mapping, got " + typeName(v));
                List<Object> r = new ArrayList<>();
                for (var e : m.entrySet()) r.add(List.of(e.getKey(), e.getValue() == null ? "" : e.getValue()));
                return r;
            }
            default -> throw err(f.line(), "the filter '" + f.name() + "' is not supported");
        }
    }

    private static List<Object> iterate(Object v, int line) {
        if (v instanceof List<?> l) return new ArrayList<>(l);
        if (v instanceof Map<?, ?> m) return new ArrayList<>(m.keySet());
        if (v instanceof String s) {
            List<Object> r = new ArrayList<>();
            s.codePoints().forEach(cp -> r.add(Character.toString(cp)));
            return r;
        }
        throw err(line, "cannot iterate over " + typeName(v));
    }

    private static Object call(Call c, Scope scope) {
        Object fn = eval(c.fn(), scope);
        List<Object> args = new ArrayList<>();
        for (Expr a : c.args()) args.add(eval(a, scope));
        if (fn instanceof Builtin b) {
            switch (b.name()) {
                case "raise_exception" -> throw new TokenizerException("chat template raised an error: " + (args.isEmpty() ? "" : str(args.get(0))));
                case "namespace" -> {
                    Namespace ns = new Namespace();
                    for (var e : c.kwargs().entrySet()) ns.attrs.put(e.getKey(), eval(e.getValue(), scope));
                    return ns;
                }
                case "range" -> {
                    long start = 0, stop, step = 1;
                    if (args.size() == 1) stop = asLong(args.get(0), c.line());
                    else if (args.size() >= 2) {
                        start = asLong(args.get(0), c.line());
                        stop = asLong(args.get(1), c.line());
                        if (args.size() > 2) step = asLong(args.get(2), c.line());
                    } else throw err(c.line(), "range() needs arguments");
                    if (step == 0) throw err(c.line(), "range() step cannot be zero");
                    List<Object> r = new ArrayList<>();
                    for (long i = start; step > 0 ? i < stop : i > stop; i += step) r.add(i);
                    return r;
                }
                default -> throw err(c.line(), "unknown function " + b.name());
            }
        }
        if (fn instanceof Method m) return method(m, args, c.line());
        if (fn instanceof HostFunction h) {
            try {
                return h.apply(args);
            } catch (IllegalArgumentException e) {
                throw err(c.line(), e.getMessage());
            }
        }
        if (fn instanceof Undefined u) throw err(c.line(), "'" + u.name() + "' is undefined, so it cannot be called (defined: raise_exception, namespace, range and the caller's functions such as strftime_now)");
        throw err(c.line(), typeName(fn) + " is not callable");
    }

    private static Object method(Method m, List<Object> args, int line) {
        if (m.self() instanceof Map<?, ?> map) {
            switch (m.name()) {
                case "items" -> {
                    List<Object> r = new ArrayList<>();
                    for (var e : map.entrySet()) r.add(List.of(e.getKey(), e.getValue() == null ? "" : e.getValue()));
                    return r;
                }
                case "keys" -> {
                    return new ArrayList<Object>(map.keySet());
                }
                case "values" -> {
                    return new ArrayList<Object>(map.values());
                }
                default -> { // get
                    Object k = args.isEmpty() ? null : str(args.get(0));
                    return map.containsKey(k) ? map.get(k) : args.size() > 1 ? args.get(1) : null;
                }
            }
        }
        String s = (String) m.self();
        int needed = switch (m.name()) {
            case "replace" -> 2;
            case "startswith", "endswith", "find", "count" -> 1;
            default -> 0;
        };
        if (args.size() < needed) throw err(line, m.name() + "() needs " + needed + " argument(s), got " + args.size());
        String a0 = args.isEmpty() || args.get(0) == null ? null : str(args.get(0));
        switch (m.name()) {
            case "strip" -> {
                return pyStrip(s, a0, true, true);
            }
            case "lstrip" -> {
                return pyStrip(s, a0, true, false);
            }
            case "rstrip" -> {
                return pyStrip(s, a0, false, true);
            }
            case "upper" -> {
                return s.toUpperCase(java.util.Locale.ROOT);
            }
            case "lower" -> {
                return s.toLowerCase(java.util.Locale.ROOT);
            }
            case "title", "capitalize" -> throw err(line, "the string method " + m.name() + "() is not supported; use the filter");
            case "startswith", "endswith" -> {
                List<Object> options = args.get(0) instanceof List<?> l ? new ArrayList<>(l) : List.of(args.get(0));
                for (Object o : options) if (m.name().equals("startswith") ? s.startsWith(str(o)) : s.endsWith(str(o))) return true;
                return false;
            }
            case "replace" -> {
                return s.replace(str(args.get(0)), str(args.get(1)));
            }
            case "find" -> {
                return (long) s.indexOf(a0);
            }
            case "count" -> {
                if (a0 == null || a0.isEmpty()) throw err(line, "count() needs a non-empty string");
                long n = 0;
                for (int i = s.indexOf(a0); i >= 0; i = s.indexOf(a0, i + a0.length())) n++;
                return n;
            }
            default -> { // split
                List<Object> r = new ArrayList<>();
                if (a0 == null) {
                    for (String part : s.strip().split("\\s+")) if (!part.isEmpty()) r.add(part);
                    return r;
                }
                if (a0.isEmpty()) throw err(line, "split() with an empty separator");
                int from = 0;
                for (int i = s.indexOf(a0); i >= 0; i = s.indexOf(a0, from)) {
                    r.add(s.substring(from, i));
                    from = i + a0.length();
                }
                r.add(s.substring(from));
                return r;
            }
        }
    }

    /** Python's str.strip/lstrip/rstrip: whitespace, or any of the given characters. */
    private static String pyStrip(String s, String chars, boolean left, boolean right) {
        int a = 0, b = s.length();
        while (left && a < b && (chars == null ? Character.isWhitespace(s.charAt(a)) : chars.indexOf(s.charAt(a)) >= 0)) a++;
        while (right && b > a && (chars == null ? Character.isWhitespace(s.charAt(b - 1)) : chars.indexOf(s.charAt(b - 1)) >= 0)) b--;
        return s.substring(a, b);
    }

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) return false;
        if (v instanceof Boolean b) return b;
        if (v instanceof Long l) return l != 0;
        if (v instanceof Double d) return d != 0;
        if (v instanceof String s) return !s.isEmpty();
        if (v instanceof List<?> l) return !l.isEmpty();
        if (v instanceof Map<?, ?> m) return !m.isEmpty();
        return true;
    }

    /** Python's str() of a value, as Jinja prints it. */
    private static String str(Object v) {
        if (v instanceof Undefined) return "";
        if (v == null) return "None";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof Double d) return d == Math.rint(d) && !Double.isInfinite(d) ? String.format(java.util.Locale.ROOT, "%.1f", d) : Double.toString(d);
        if (v instanceof String s) return s;
        if (v instanceof List<?> || v instanceof Map<?, ?>) {
            StringBuilder sb = new StringBuilder();
            repr(v, sb);
            return sb.toString();
        }
        return String.valueOf(v);
    }

    private static void repr(Object v, StringBuilder sb) {
        if (v instanceof String s) {
            sb.append('\'').append(s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")).append('\'');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) sb.append(", ");
                repr(l.get(i), sb);
            }
            sb.append(']');
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            int i = 0;
            for (var e : m.entrySet()) {
                if (i++ > 0) sb.append(", ");
                repr(e.getKey(), sb);
                sb.append(": ");
                repr(e.getValue(), sb);
            }
            sb.append('}');
        } else {
            sb.append(str(v));
        }
    }

    /** Python json.dumps(ensure_ascii=False) with its default separators, as transformers' tojson filter. */
    private static void toJson(Object v, int indent, int depth, StringBuilder sb, int line) {
        if (v == null || v instanceof Undefined) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b);
        } else if (v instanceof Long || v instanceof Double) {
            sb.append(str(v));
        } else if (v instanceof String s) {
            sb.append('"');
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                        else sb.append(c);
                    }
                }
            }
            sb.append('"');
        } else if (v instanceof List<?> || v instanceof Map<?, ?> || v instanceof Namespace) {
            boolean isList = v instanceof List<?>;
            List<Map.Entry<?, ?>> entries = new ArrayList<>();
            if (v instanceof Map<?, ?> m) entries.addAll(m.entrySet());
            if (v instanceof Namespace ns) entries.addAll(ns.attrs.entrySet());
            List<?> items = isList ? (List<?>) v : entries;
            sb.append(isList ? '[' : '{');
            if (items.isEmpty()) {
                sb.append(isList ? ']' : '}');
                return;
            }
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) sb.append(indent >= 0 ? "," : ", ");
                if (indent >= 0) sb.append('\n').append(" ".repeat(indent * (depth + 1)));
                if (isList) {
                    toJson(items.get(i), indent, depth + 1, sb, line);
                } else {
                    Map.Entry<?, ?> e = entries.get(i);
                    toJson(str(e.getKey()), indent, depth + 1, sb, line);
                    sb.append(": ");
                    toJson(e.getValue(), indent, depth + 1, sb, line);
                }
            }
            if (indent >= 0) sb.append('\n').append(" ".repeat(indent * depth));
            sb.append(isList ? ']' : '}');
        } else {
            throw err(line, "tojson: cannot serialise " + typeName(v));
        }
    }

    private static String typeName(Object v) {
        if (v == null) return "none";
        if (v instanceof Undefined u) return "undefined '" + u.name() + "'";
        if (v instanceof String) return "a string";
        if (v instanceof Long) return "an integer";
        if (v instanceof Double) return "a float";
        if (v instanceof Boolean) return "a boolean";
        if (v instanceof List<?>) return "a list";
        if (v instanceof Map<?, ?>) return "a mapping";
        if (v instanceof Namespace) return "a namespace";
        return v.getClass().getSimpleName();
    }
}
