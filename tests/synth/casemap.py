#!/usr/bin/python3 -I -S
"""Writes src/propose/synth_unidata.c: Python's case mapping as C tables.

    /usr/bin/python3 -I -S tests/synth/casemap.py > src/propose/synth_unidata.c

The synthesizer evaluates str.lower(), upper(), title() and capitalize() in
C and must give what the emitted Python gives. CPython maps every character
with its own Unicode database (full mappings, so "ß".upper() is "SS", and a
capital sigma lowers to a final sigma at the end of a word); this script
asks the running Python, character by character, and writes what it says:

  ranges    characters whose three mappings are one character each, as
            runs of one delta triple or of alternating upper/lower pairs
  special   characters with a mapping of two or three characters
  cased     runs of characters Python calls cased (what title() and the
            final sigma look at)
  ignorable runs of case-ignorable characters (what the final sigma skips)

Nothing is taken from a table of the Unicode standard: each property is
read off the behaviour of str methods, so the C side follows this Python
even where Python departs from the standard. tests/unit/test_synth.c
checks every code point of the C mapping against /usr/bin/python3.
"""
import sys
import unicodedata

MAX = 0x110000


def chars():
    for c in range(MAX):
        if not 0xD800 <= c < 0xE000:
            yield c


def cased(c):
    # title() lowers a letter after a cased character and title-cases it after any other.
    return (chr(c) + "b").title()[-1] == "b"


def ignorable(c):
    ch = chr(c)
    if cased(c):
        # A sigma after a cased character is final unless that character is also ignorable.
        return (ch + "\u03a3").lower()[-1] == "\u03c3"
    # Between a sigma and a cased letter: an ignorable character is skipped.
    return ("A\u03a3" + ch + "b").lower()[1] == "\u03c3"


def runs(pred):
    out, start, prev = [], None, None
    for c in chars():
        if pred(c):
            if start is None or c != prev + 1:
                if start is not None:
                    out.append((start, prev))
                start = c
            prev = c
    if start is not None:
        out.append((start, prev))
    return out


def main():
    single, special = {}, []
    for c in chars():
        ch = chr(c)
        lo, up, ti = ch.lower(), ch.upper(), ch.title()
        if c == 0x3A3:
            lo = "\u03c3"      # the final sigma is decided in C, from the context
        if lo == ch and up == ch and ti == ch:
            continue
        if len(lo) == 1 and len(up) == 1 and len(ti) == 1:
            single[c] = (ord(lo) - c, ord(up) - c, ord(ti) - c)
        else:
            special.append((c, lo, up, ti))
    # Runs: a constant delta triple over consecutive characters (kind 0), or
    # upper/lower pairs, the upper one first (kind 1).
    pair_a, pair_b = (1, 0, 0), (0, -1, -1)
    ranges = []
    cps = sorted(single)
    i = 0
    while i < len(cps):
        c = cps[i]
        d = single[c]
        j = i
        if d == pair_a and single.get(c + 1) == pair_b:
            end = c + 1
            while single.get(end + 1) == pair_a and single.get(end + 2) == pair_b:
                end += 2
            ranges.append((c, end, 1, pair_a))
            i += end - c + 1
            continue
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1 and single[cps[j + 1]] == d:
            j += 1
        ranges.append((c, cps[j], 0, d))
        i = j + 1
    cased_runs = runs(cased)
    ign_runs = runs(ignorable)

    w = sys.stdout.write
    w("/*\n * Python's case mapping, as tables: written by tests/synth/casemap.py from\n"
      " * Python %d.%d.%d (Unicode %s); do not edit. synth_case.c reads them\n"
      " * (sx_case); tests/unit/test_synth.c checks them against /usr/bin/python3.\n */\n"
      % (sys.version_info[0], sys.version_info[1], sys.version_info[2],
         unicodedata.unidata_version))
    w('#include "compat.h"\n\n#include "synth_int.h"\n\n')
    w("const char sx_case_unicode[] = \"%s\";\n\n" % unicodedata.unidata_version)
    w("/* lo, hi, kind (0: every one; 1: pairs, upper first), delta lower, upper, title */\n")
    w("const struct sx_case_range sx_case_ranges[] = {\n")
    for lo, hi, kind, d in ranges:
        w("    { 0x%04X, 0x%04X, %d, %d, %d, %d },\n" % (lo, hi, kind, d[0], d[1], d[2]))
    w("};\nconst size_t sx_case_nranges = sizeof(sx_case_ranges) / sizeof(sx_case_ranges[0]);\n\n")
    w("/* Mappings of more than one character: lower, upper, title (0-terminated). */\n")
    w("const struct sx_case_special sx_case_specials[] = {\n")

    def arr(s):
        return "{ " + ", ".join("0x%04X" % ord(x) for x in s) + " }"
    for c, lo, up, ti in special:
        w("    { 0x%04X, %s, %s, %s },\n" % (c, arr(lo), arr(up), arr(ti)))
    w("};\nconst size_t sx_case_nspecials = sizeof(sx_case_specials) / "
      "sizeof(sx_case_specials[0]);\n\n")
    for name, rr in (("cased", cased_runs), ("ignorable", ign_runs)):
        w("const uint32_t sx_case_%s[][2] = {\n" % name)
        for k in range(0, len(rr), 4):
            w("   " + "".join(" { 0x%04X, 0x%04X }," % r for r in rr[k:k + 4]) + "\n")
        w("};\nconst size_t sx_case_n%s = sizeof(sx_case_%s) / sizeof(sx_case_%s[0]);\n\n"
          % (name, name, name))


main()
