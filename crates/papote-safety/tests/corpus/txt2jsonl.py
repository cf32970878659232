#!/usr/bin/env python3
"""Convert the compact `categories|context|text|note` format to the corpus JSONL.

Usage: python3 txt2jsonl.py < lines.txt > file.jsonl   (lines starting with # are skipped)
"""
import json
import sys

for raw in sys.stdin:
    raw = raw.rstrip("\n")
    if not raw or raw.startswith("#"):
        continue
    cats, ctx, rest = raw.split("|", 2)
    text, _, note = rest.rpartition("|")
    cats = [c for c in cats.split(",") if c]
    print(json.dumps({"text": text, "context": ctx, "categories": cats, "note": note}, ensure_ascii=False))
