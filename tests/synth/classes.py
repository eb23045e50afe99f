#!/usr/bin/python3 -I -S
"""Where each character class matches, to Python's re, over every code point.

Reads a JSON array of classes on standard input (what the synthesizer
builds its patterns from); writes one JSON object mapping each class to the
runs it matches in the string of every code point but the surrogates, in
order: [[first index, index past the last], ...]. tests/unit/test_synth.c
finds the same runs with PCRE2 and compares.
"""
import json
import re
import sys

text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
out = {}
for cls in json.load(sys.stdin):
    out[cls] = [[m.start(), m.end()] for m in re.finditer("(?:%s)+" % cls, text)]
json.dump(out, sys.stdout)
