#!/bin/sh
test_description='the README: its example commands run against examples/, and make install works'
. "$(dirname "$0")/test-lib.sh"

# The commands run as a reader of the README would: from a scratch copy of
# examples/, with autodev on the PATH (a directory holding a link to the
# binary, as "export PATH=$PWD/build:$PATH" gives).
cp -r "$AUTODEV_SRC/examples" try || exit 1
mkdir bin && ln -s "$AUTODEV_BIN" bin/autodev || exit 1

cat >readme.py <<'PY'
"""Runs the commands of README.md's sh blocks that need no model, network
or make, in order, in the current directory; prints what went wrong.

A command's expected exit status is 0, unless its comment says otherwise
("exit 0 / 1", "fails"); the few exceptions below say why. A block in
transcript form ("$ command" lines, each followed by its expected output)
also has its output compared, with a measured time ("in 0.5 ms")
matching any time. A comment line saying the task "fails again" repeats
the command before it, as the README asks the reader to do.
"""
import re, subprocess, sys

SKIP = [   # (pattern, why)
    (r"^make ", "builds and tests the tree itself"),
    (r"^export .*\.\.\.", "placeholders for API keys"),
    (r"^export AUTODEV_LLM=", "a real model"),
    (r"llm test", "a real model or network"),
    (r"agent run ", "a real model"),
    (r"^AUTODEV_LLM=", "a real model"),
    (r"events tail --follow", "never ends by itself"),
    (r"^autodev serve", "a server: tests/server/t1680-readme.sh runs this block's requests"),
    (r"^curl ", "needs the server above: tests/server/t1680-readme.sh runs it"),
]
# Commands whose status the README's comments do not give.
STATUS = [
    (r"candidates (reject|regenerate) ", {0, 2},
     "alternatives to approve: once approved, the candidate's state refuses them (exit 2)"),
    (r"agent graduate ", {0, 1}, "exit 1 while the agent is not ready"),
]

def commands(text):
    """(command, comment, expected output or None) in order."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines = block.split("\n")
        transcript = any(l.startswith("$ ") for l in lines)
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            if line.lstrip().startswith("#"):
                out.append((None, line, None))
                continue
            if transcript:
                if not line.startswith("$ "):
                    continue
                cmd, expect = line[2:], []
                while i < len(lines) and lines[i] and not lines[i].startswith("$ "):
                    expect.append(lines[i])
                    i += 1
                out.append((cmd, "", expect))
                continue
            # Join a command continued by a backslash or an open quote.
            cmd = line
            while (cmd.rstrip().endswith("\\") or cmd.count("'") % 2) and i < len(lines):
                cmd = cmd.rstrip()[:-1] if cmd.rstrip().endswith("\\") else cmd + "\n"
                cmd += lines[i]
                i += 1
            m = re.search(r"\s+#\s(.*)$", cmd.split("\n")[-1])
            comment = m.group(1) if m and cmd.count("'", 0, len(cmd) - len(m.group(0))) % 2 == 0 else ""
            if comment:
                cmd = cmd[: len(cmd) - len(m.group(0))]
            out.append((cmd.strip(), comment, None))
    return out

def expected_status(cmd, comment):
    for pat, codes, _ in STATUS:
        if re.search(pat, cmd):
            return codes
    if re.search(r"exit 0 / 1", comment):
        return {0, 1}
    if re.search(r"\bfails\b", comment):
        return {1}
    return {0}

def run(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)

def newest_candidate():
    r = run("autodev candidates list --json")
    import json
    v = json.loads(r.stdout or "[]")
    return v[0]["id"] if v else None

bad, ran, prev = [], 0, None
for cmd, comment, expect in commands(open(sys.argv[1]).read()):
    if cmd is None:
        if "fails again" in comment and prev:
            cmd, comment = prev
        else:
            continue
    why = next((w for p, w in SKIP if re.search(p, cmd)), None)
    if why:
        print("# skipped (%s): %s" % (why, cmd.split("\n")[0]))
        continue
    if re.search(r"\bID\b", cmd):
        cid = newest_candidate()
        if not cid:
            bad.append("%s: no candidate to stand for ID" % cmd)
            continue
        cmd = re.sub(r"\bID\b", cid, cmd)
    r = run(cmd)
    ran += 1
    prev = (cmd, comment)
    want = expected_status(cmd, comment)
    if r.returncode not in want:
        bad.append("%s: exit %d, want %s\n%s%s" % (cmd, r.returncode, sorted(want), r.stdout[-2000:], r.stderr[-2000:]))
        continue
    if expect is not None:
        got = (r.stdout + r.stderr).rstrip("\n").split("\n") if (r.stdout + r.stderr) else []
        norm = lambda s: re.sub(r"in [0-9.]+ ms", "in N ms", s)
        if [norm(l) for l in got] != [norm(l) for l in expect]:
            bad.append("%s: output\n  got  %r\n  want %r" % (cmd, got, expect))
for b in bad:
    print("FAIL " + b)
print("# ran %d commands" % ran)
sys.exit(1 if bad or ran < 30 else 0)
PY

test_expect_success 'the README commands run against examples/' '
    (cd try && PATH="$TRASH/bin:$PATH" /usr/bin/python3 ../readme.py "$AUTODEV_SRC/README.md") >out 2>&1 ||
    { cat out; false; }
'

test_expect_success 'every file examples/ holds is named by the README or its own' '
    for f in $(cd "$AUTODEV_SRC/examples" && ls); do
        grep -q "$f" "$AUTODEV_SRC/examples/README.md" || { echo "unexplained: $f"; exit 1; }
    done &&
    for f in episodes.jsonl skill.py reply.txt invoices.jsonl wc.py wc2.py; do
        test -f "$AUTODEV_SRC/examples/$f" && grep -q "$f" "$AUTODEV_SRC/README.md" || exit 1
    done
'

# ---- make install ----------------------------------------------------------

if [ -z "${AUTODEV_BUILD:-}" ] || [ ! -f "$AUTODEV_BUILD/build.ninja" ]; then
    test_skip 'make install' 'needs AUTODEV_BUILD, a meson build directory'
    test_done
fi

test_expect_success 'make install stages the binary, the man page and the completion under DESTDIR' '
    make -s -C "$AUTODEV_SRC" install BUILD="$AUTODEV_BUILD" DESTDIR="$TRASH/stage" \
        >make.out 2>&1 || { cat make.out; false; } &&
    test -x stage/usr/local/bin/autodev &&
    test -f stage/usr/local/share/man/man1/autodev.1 &&
    test -f stage/usr/local/share/bash-completion/completions/autodev
'

test_expect_success 'the installed binary runs; its man page renders' '
    stage/usr/local/bin/autodev --version >v &&
    grep -q "^autodev [0-9]" v &&
    env -u AUTODEV_HOME HOME="$TRASH/inst" stage/usr/local/bin/autodev init >/dev/null &&
    env -u AUTODEV_HOME HOME="$TRASH/inst" stage/usr/local/bin/autodev agent list --json >j &&
    test "$(cat j)" = "[]" &&
    cmp stage/usr/local/share/man/man1/autodev.1 "$AUTODEV_SRC/docs/autodev.1" &&
    if command -v man >/dev/null 2>&1; then
        MANWIDTH=80 man -l stage/usr/local/share/man/man1/autodev.1 >page 2>manerr &&
        grep -q "autodev - make AI agents improve themselves safely" page &&
        grep -q "AUTODEV_BUSY_TIMEOUT_MS" page
    fi &&
    bash -c ". stage/usr/local/share/bash-completion/completions/autodev &&
             COMP_WORDS=(autodev sk); COMP_CWORD=1; _autodev; echo \${COMPREPLY[*]}" >c &&
    test "$(cat c)" = skill
'

test_done
