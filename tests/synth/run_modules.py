#!/usr/bin/python3 -I -S
"""Runs synthesized modules on their examples with this Python.

Reads a JSON array of {"name", "code", "entry", "examples"} on standard
input; writes one JSON line per module that does not reproduce all of its
examples: {"name", "example", "got", "want"}. Nothing else is written, so
empty output means every module reproduced every example.

A function is called as the sandbox harness calls a skill: keyword
arguments when the input is an object whose keys are its parameters, else
the input as the one argument. Results compare as Python's == does, except
that a boolean equals only a boolean (the synthesizer's rule, stricter than
True == 1).
"""
import json
import sys


def fits(fn, data):
    if not isinstance(data, dict):
        return False
    c = fn.__code__
    names = set(c.co_varnames[:c.co_argcount])
    required = set(c.co_varnames[:c.co_argcount - len(fn.__defaults__ or ())])
    return set(data) <= names and required <= set(data)


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) in (int, float, str, type(None)) and a == b


def main():
    for m in json.load(sys.stdin):
        g = {"__name__": "synthesized"}
        try:
            exec(compile(m["code"], m["name"], "exec"), g)
            fn = g[m["entry"]]
        except Exception as e:
            print(json.dumps({"name": m["name"], "example": 0, "got": "load: %r" % e,
                              "want": None}))
            continue
        for i, ex in enumerate(m["examples"]):
            x = ex["input"]
            try:
                got = fn(**x) if fits(fn, x) else fn(x)
            except Exception as e:
                got = "raised %r" % e
            if not same(got, ex["output"]):
                print(json.dumps({"name": m["name"], "example": i + 1, "got": repr(got),
                                  "want": repr(ex["output"])}))
                break


main()
