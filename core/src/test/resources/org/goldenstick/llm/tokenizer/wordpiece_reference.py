#!/usr/bin/env python3
"""Independent WordPiece reference (Python standard library only) that produced wordpiece-minilm.jsonl.

It follows the published BERT tokenization (BasicTokenizer + WordpieceTokenizer of the original BERT
repository, as configured by a Hugging Face tokenizer.json with BertNormalizer / BertPreTokenizer /
WordPiece / TemplateProcessing), written from that description, not from the Java code it checks.

    python3 wordpiece_reference.py TOKENIZER.json MOBY_DICK_DIR > wordpiece-minilm.jsonl

Each output line is [text, ids] for "[CLS] text [SEP]" without truncation or padding (the Java test
derives the truncated form: the first max_length - 1 ids, then [SEP]).
"""
import json
import os
import sys
import unicodedata

CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
       (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def is_ws(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_ctrl(ch):
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def normalize(text, cfg):
    if cfg.get("clean_text", True):
        text = "".join(" " if is_ws(c) else c for c in text if not (ord(c) == 0 or ord(c) == 0xFFFD or is_ctrl(c)))
    if cfg.get("handle_chinese_chars", True):
        text = "".join(" " + c + " " if any(a <= ord(c) <= b for a, b in CJK) else c for c in text)
    lower = cfg.get("lowercase", True)
    strip = cfg.get("strip_accents")
    if strip is None:
        strip = lower
    if strip:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    if lower:
        text = "".join(c.lower() for c in text)
    return text


def pre_split(text):
    words, cur = [], []
    for c in text:
        if c.isspace() or is_ws(c):
            if cur:
                words.append("".join(cur)); cur = []
        elif is_punct(c):
            if cur:
                words.append("".join(cur)); cur = []
            words.append(c)
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


def wordpiece(word, vocab, unk, prefix, max_chars):
    if len(word) > max_chars:
        return [vocab[unk]]
    out, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab[unk]]
        out.append(found)
        start = end
    return out


def main():
    tj = json.load(open(sys.argv[1], encoding="utf-8"))
    model = tj["model"]
    vocab = model["vocab"]
    for t in tj.get("added_tokens", []):
        vocab.setdefault(t["content"], t["id"])
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    texts = []
    d = sys.argv[2]
    for n in range(100, 112):
        with open(os.path.join(d, "chapter_%d.txt" % n), encoding="utf-8") as f:
            for para in f.read().split("\n\n"):
                para = " ".join(para.split())
                if para:
                    texts.append(para)
    texts += ["Café déjà vu — naïve façade, Ångström, Œuvre, straße, İstanbul, ΣΟΦΙΑ σοφία",
              "東京タワーに行きました。北京欢迎你！ 한국어 텍스트",
              "tab\tand\u00a0nbsp\u2003em-space\u200bzero-width\x07bell\ufffdreplacement",
              "x" * 101 + " short " + "antidisestablishmentarianism" * 3,
              "Numbers 3.14159, $1,000,000 and 42% — e-mail: ishmael@pequod.example; (parens) [brackets] {braces}",
              "«guillemets» „quotes“ ‘single’ ¿qué? ¡sí! … • ※ ‰ § ¶ † ‡",
              "",
              "   ",
              "emoji 🐋🐳 whale and ⚓ anchor"]
    words = 0
    for text in texts:
        pieces = []
        ws = pre_split(normalize(text, tj["normalizer"]))
        words += len(ws)
        for w in ws:
            pieces += wordpiece(w, vocab, model["unk_token"], model.get("continuing_subword_prefix", "##"), model.get("max_input_chars_per_word", 100))
        print(json.dumps([text, [cls] + pieces + [sep]], ensure_ascii=False))
    print("words: %d, texts: %d" % (words, len(texts)), file=sys.stderr)


if __name__ == "__main__":
    main()
