#!/usr/bin/python3 -I -S
"""Random example sets built around the three places where the synthesizer's
C evaluation and Python used to disagree (issue 16, item 9):

  space   whitespace: Python's \\s counts \\x1c-\\x1f, PCRE2's counts U+180E
  int     ints above 2**53: true division, means, int-float comparisons
  case    str.upper(), lower(), title(), capitalize() beyond ASCII

    hazards.py SEED N  ->  a JSON array of sets on standard output

Each set is {"name", "hazard", "kind", "must_find", "examples"}. The outputs
of kind "python" are what Python itself computes for a program of the
synthesizer's language (the k-th run of non-space, a / b, the mean, a
comparison, a case change); those of kind "naive" are what the old C
evaluation computed instead (PCRE2's \\S, arithmetic through double, case
changes on ASCII letters only). tests/unit/test_synth.c synthesizes every
set and runs each printed module with /usr/bin/python3 on its examples: a
module printed must reproduce them all, and a "python" set with must_find
must give one.
"""
import json
import random
import re
import sys

# PCRE2's \s with Unicode properties, which the old "\S+" split on.
PCRE2_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u180e\u2028\u2029\u202f\u205f\u3000"
                  + "".join(chr(c) for c in range(0x2000, 0x200B)))
SEPARATORS = [" ", " ", " ", "\t", "\x1c", "\x1d", "\x1e", "\x1f", "\xa0", "\u2003", "\n",
              "\u180e"]
CASE_WORDS = ["straße", "STRASSE", "émile", "Émile", "élan vital", "«élan»", "o'neil",
              "ǅemal", "ǆungla", "İstanbul", "istanbul", "ŉ", "ΟΔΟΣ", "οδος", "ΣΊΣΥΦΟΣ",
              "ﬁne ﬂow", "日本abc def", "москва", "МОСКВА", "ǰ", "ΐ", "árvíztűrő",
              "ÆSIR", "øre", "ĳssel", "ǈubljana", "ⓐⓑⓒ", "ᾳ", "ﬀ", "ß", "Σ", "aΣ", "aΣb",
              "ΑΣ.", "x'Σ", "hello world", "MIXED case Text", "ünïcödé", "ΆΈΉ"]


def word(rng):
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))


def text(rng, seps):
    n = rng.randint(2, 5)
    out = word(rng)
    for _ in range(n - 1):
        out += rng.choice(seps) + word(rng)
    return out


def naive_tokens(s):
    return [t for t in re.split("[" + re.escape("".join(sorted(PCRE2_SPACE))) + "]+", s) if t]


def space_set(rng, kind):
    k = rng.choice([0, 1, -1])
    examples = []
    for _ in range(rng.randint(2, 4)):
        for _attempt in range(50):
            t = text(rng, SEPARATORS)
            toks = re.findall(r"\S+", t) if kind == "python" else naive_tokens(t)
            if len(toks) >= 2:
                break
        examples.append({"input": t, "output": toks[k]})
    # Python's \S counts U+180E as non-space and no class of the synthesizer does.
    must = kind == "python" and not any("\u180e" in e["input"] for e in examples)
    return examples, must


def big(rng):
    return rng.choice([1, -1]) * rng.randint(2**53 + 1, 2**62)


def int_set(rng, kind):
    what = rng.choice(["div", "mean", "cmp"])
    examples = []
    for _ in range(rng.randint(2, 4)):
        if what == "div":
            a, b = big(rng), rng.choice([3, 7, 10, 11, rng.randint(2, 2**40), big(rng)])
            out = a / b if kind == "python" else float(a) / float(b)
            examples.append({"input": {"a": a, "b": b}, "output": out})
        elif what == "mean":
            xs = [big(rng) // 8 for _ in range(rng.randint(2, 5))]
            s = sum(xs)
            out = s / len(xs) if kind == "python" else float(s) / len(xs)
            examples.append({"input": {"xs": xs}, "output": out})
        else:
            a = big(rng)
            t = float(a) + rng.choice([-2048.0, 0.0, 0.0, 2048.0])
            out = a > t if kind == "python" else float(a) > t
            examples.append({"input": {"a": a, "t": t}, "output": out})
    # A comparison may be explained by a threshold just as well: only the arithmetic must be found.
    return examples, kind == "python" and what != "cmp"


def naive_case(s, how):
    """What the old C did: ASCII letters only, any non-ASCII byte taken as cased."""
    out, prev = [], False
    for i, ch in enumerate(s):
        asc = ch.isascii() and ch.isalpha()
        if how == "upper":
            ch = ch.upper() if asc else ch
        elif how == "lower":
            ch = ch.lower() if asc else ch
        elif how == "capitalize":
            ch = (ch.upper() if i == 0 else ch.lower()) if asc else ch
        else:
            if asc:
                ch = ch.lower() if prev else ch.upper()
            prev = asc or not ch.isascii()
        out.append(ch)
    return "".join(out)


def case_set(rng, kind):
    how = rng.choice(["upper", "lower", "title", "capitalize"])
    words = rng.sample(CASE_WORDS, rng.randint(2, 4))
    examples = []
    for w in words:
        out = getattr(w, how)() if kind == "python" else naive_case(w, how)
        examples.append({"input": {"name": w}, "output": out})
    # Equal inputs can not happen (sampled without replacement); a set whose outputs all
    # equal its inputs is explained by the input alone, which is fine either way.
    return examples, kind == "python"


def main():
    seed, n = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    sets = []
    for hazard, make in (("space", space_set), ("int", int_set), ("case", case_set)):
        for kind in ("python", "naive"):
            for i in range(n):
                examples, must = make(rng, kind)
                sets.append({"name": "%s-%s-%d" % (hazard, kind, i), "hazard": hazard,
                             "kind": kind, "must_find": must, "examples": examples})
    json.dump(sets, sys.stdout)


main()
