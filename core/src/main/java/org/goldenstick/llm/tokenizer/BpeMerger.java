package org.goldenstick.llm.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The merge loop shared by every BPE flavour: start from single symbols, repeatedly merge the adjacent pair
 * with the best priority (ties: leftmost first), until no adjacent pair may merge. This is the algorithm of
 * Hugging Face {@code tokenizers} (priority = −merge rank) and of llama.cpp's SentencePiece session
 * (priority = score of the merged token); a priority queue with lazy invalidation keeps it O(n log n), which
 * matters for SentencePiece vocabularies that see a whole text as one word.
 */
final class BpeMerger {

    /** Priority of merging {@code left + right}; {@link Double#NaN} when the pair may not merge. */
    @FunctionalInterface
    interface PairPriority {
        double of(String left, String right);
    }

    private record Candidate(double priority, int left, int right, String leftText, String rightText) {}

    private BpeMerger() {}

    /** Merges the given symbols; returns the final symbols in order. */
    static List<String> merge(List<String> symbols, PairPriority priority) {
        int n = symbols.size();
        if (n <= 1) return symbols;
        String[] sym = symbols.toArray(new String[0]);
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>((a, b) -> {
            int c = Double.compare(b.priority, a.priority);
            return c != 0 ? c : Integer.compare(a.left, b.left);
        });
        for (int i = 0; i + 1 < n; i++) offer(queue, priority, sym, i, i + 1);
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            // Stale if either side has been merged away or changed since the candidate was queued.
            if (sym[c.left] == null || sym[c.right] == null || next[c.left] != c.right) continue;
            if (!sym[c.left].equals(c.leftText) || !sym[c.right].equals(c.rightText)) continue;
            sym[c.left] = c.leftText + c.rightText;
            sym[c.right] = null;
            next[c.left] = next[c.right];
            if (next[c.right] >= 0) prev[next[c.right]] = c.left;
            if (prev[c.left] >= 0) offer(queue, priority, sym, prev[c.left], c.left);
            if (next[c.left] >= 0) offer(queue, priority, sym, c.left, next[c.left]);
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i >= 0; i = next[i]) out.add(sym[i]);
        return out;
    }

    private static void offer(PriorityQueue<Candidate> q, PairPriority priority, String[] sym, int l, int r) {
        double p = priority.of(sym[l], sym[r]);
        if (!Double.isNaN(p)) q.add(new Candidate(p, l, r, sym[l], sym[r]));
    }
}
