#!/usr/bin/env python3
"""Evasive rewrites of tuned corpus lines, as a determined user would type them.

Usage: python3 gen_evasion.py < tuned.jsonl > evasion.jsonl
Each line gets one or two transforms (seeded, reproducible): leetspeak, separators between
letters, Cyrillic/Greek look-alikes, fullwidth forms, invisible characters, repeated letters,
capitals. Benign lines are rewritten too: an evasive spelling must not create a match.
"""
import json
import random
import sys

rng = random.Random(2026)
LEET = {"a": "4", "e": "3", "o": "0", "i": "1", "s": "5", "t": "7"}
HOMO = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "s": "ѕ", "h": "һ", "k": "к", "m": "м", "t": "т", "b": "Ь", "n": "п"}
HOMO_SAFE = {k: v for k, v in HOMO.items() if k in "aeopcxyis"}
INVIS = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff"]


def words(text):
    return text.split(" ")


def leet(text):
    out = []
    for ch in text:
        if ch in LEET and rng.random() < 0.5:
            out.append(LEET[ch])
        else:
            out.append(ch)
    return "".join(out)


def longest_word_index(ws):
    cands = [i for i, w in enumerate(ws) if w.isalpha() and 3 <= len(w) <= 8]
    if not cands:
        return None
    cands.sort(key=lambda i: -len(ws[i]))
    return rng.choice(cands[:3])


def separators(text):
    ws = words(text)
    i = longest_word_index(ws)
    if i is None:
        return None
    sep = rng.choice([".", "-", "_", "*", " "])
    ws[i] = sep.join(ws[i])
    return " ".join(ws)


def homoglyphs(text):
    return "".join(HOMO_SAFE[c] if c in HOMO_SAFE and rng.random() < 0.6 else c for c in text)


def fullwidth(text):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def invisible(text):
    ws = words(text)
    out = []
    for w in ws:
        if len(w) >= 3 and rng.random() < 0.7:
            k = rng.randrange(1, len(w))
            w = w[:k] + rng.choice(INVIS) + w[k:]
        out.append(w)
    return " ".join(out)


def repeats(text):
    out = []
    for ch in text:
        out.append(ch)
        if ch in "aeiouy" and rng.random() < 0.3:
            out.append(ch * rng.randint(2, 4))
    return "".join(out)


def caps(text):
    return text.upper()


TRANSFORMS = [("leet", leet), ("separators", separators), ("homoglyphs", homoglyphs),
              ("fullwidth", fullwidth), ("invisible characters", invisible), ("repeated letters", repeats),
              ("capitals", caps)]

for raw in sys.stdin:
    line = json.loads(raw)
    if "evasion" in line.get("note", ""):
        continue
    benign = not line["categories"]
    if benign and rng.random() < 0.55:
        continue
    picks = rng.sample(TRANSFORMS, 2 if rng.random() < 0.3 else 1)
    text = line["text"]
    names = []
    for name, f in picks:
        new = f(text)
        if new is None:
            continue
        text = new
        names.append(name)
    if not names or text == line["text"]:
        continue
    kind = "benign" if benign else "harmful"
    print(json.dumps({"text": text, "context": line["context"], "categories": line["categories"],
                      "note": f"evasion ({kind}, generated): " + " + ".join(names)}, ensure_ascii=False))
