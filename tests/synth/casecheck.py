#!/usr/bin/python3 -I -S
"""Python's case mapping of every assigned code point, in context.

One line per code point c that Unicode assigns (not unassigned, private use
or a surrogate): c in hex, then seven strings, each as its code points in
hex separated by spaces, the fields by tabs:

  c.lower()  c.upper()  c.title()  (c + "b").title()  ("A" + c + "\u03a3").lower()
  ("A\u03a3" + c + "b").lower()  ("x" + c).capitalize()

The title of c + "b" shows whether c is cased; the two sigmas whether it is
case-ignorable. tests/unit/test_synth.c computes the same with the
synthesizer's C (sx_case) and compares every field.
"""
import sys
import unicodedata


def hexes(s):
    return " ".join("%X" % ord(ch) for ch in s)


out = []
for c in range(0x110000):
    if unicodedata.category(chr(c)) in ("Cn", "Co", "Cs"):
        continue
    ch = chr(c)
    fields = [ch.lower(), ch.upper(), ch.title(), (ch + "b").title(),
              ("A" + ch + "\u03a3").lower(), ("A\u03a3" + ch + "b").lower(),
              ("x" + ch).capitalize()]
    out.append("%X\t%s\n" % (c, "\t".join(hexes(f) for f in fields)))
sys.stdout.write("".join(out))
