#!/usr/bin/python3 -I -S
"""A Python that lies to the synthesizer's re-check, for its tests.

    python3 -I -S liar.py MODE -c DRIVER   (ad_synth appends "-c DRIVER")

Runs the re-check's driver as /usr/bin/python3 would, then, by MODE:

  always    the answer to the first example is replaced by "a lie"
  ret=EXPR  the same, only for a module whose function returns EXPR
  hang      sleeps instead of answering (the re-check's wall limit)
  honest    nothing is changed
"""
import io
import json
import sys
import time

mode, driver = sys.argv[1], sys.argv[3]
data = sys.stdin.buffer.read()
req = json.loads(data)
if mode == "hang":
    time.sleep(600)
lie = mode == "always" or (mode.startswith("ret=") and
                           ("    return %s\n" % mode[4:]) in req["code"])
sys.stdin = io.TextIOWrapper(io.BytesIO(data))
real, sys.stdout = sys.stdout, io.StringIO()
exec(compile(driver, "driver", "exec"), {"__name__": "__main__"})
lines = sys.stdout.getvalue().splitlines()
if lie:
    lines[0] = json.dumps({"ok": True, "output": "a lie"})
real.write("".join(line + "\n" for line in lines))
