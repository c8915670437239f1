package org.goldenstick.rewrite;

import java.util.List;

/**
 * What a rewrite did, one row per layer it looked at: wrapped (with the new class), fused into a neighbour,
 * or left alone with the reason. {@link #table()} renders it for the console.
 *
 * <pre>{@code
 * RewriteReport r = Rewriter.rewrite(net, rules);
 * System.out.print(r.table());
 * r.left().forEach(row -> ...);
 * }</pre>
 */
public record RewriteReport(List<Row> rows) {
    public enum Action { WRAPPED, FUSED, LEFT }

    /** One layer: its dotted path, original class, what happened, the resulting class and a note. */
    public record Row(String path, String original, Action action, String result, String note) {}

    public RewriteReport {
        rows = List.copyOf(rows);
    }

    public List<Row> wrapped() {
        return rows.stream().filter(r -> r.action() == Action.WRAPPED).toList();
    }

    public List<Row> fused() {
        return rows.stream().filter(r -> r.action() == Action.FUSED).toList();
    }

    public List<Row> left() {
        return rows.stream().filter(r -> r.action() == Action.LEFT).toList();
    }

    /** The row for a path, or null. */
    public Row row(String path) {
        for (Row r : rows) if (r.path().equals(path)) return r;
        return null;
    }

    /** A fixed-width table: path, original class, action, result, note. */
    public String table() {
        int wp = 5, wo = 8, wr = 6;
        for (Row r : rows) {
            wp = Math.max(wp, r.path().length());
            wo = Math.max(wo, r.original().length());
            wr = Math.max(wr, r.result().length());
        }
        String fmt = "%-" + wp + "s  %-" + wo + "s  %-7s  %-" + wr + "s  %s%n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(fmt, "layer", "original", "action", "result", "note"));
        for (Row r : rows) sb.append(String.format(fmt, r.path(), r.original(), r.action().name().toLowerCase(), r.result(), r.note()));
        sb.append(String.format("%d wrapped, %d fused, %d left in FP32%n", wrapped().size(), fused().size(), left().size()));
        return sb.toString();
    }
}
