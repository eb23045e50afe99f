#!/bin/sh
test_description='Skill bundles over HTTP: export as zip or tar (the bytes the CLI writes), import with the refusals of a folder and nothing changed'
. "$(dirname "$0")/lib.sh"

# bundle.py KIND OUT: an archive for the import tests (see the cases below).
cat >bundle.py <<'PY'
import io, sys, tarfile, zipfile
kind, out = sys.argv[1], sys.argv[2]
MD = ("---\nname: shout-it\ndescription: Shout a text.\nmetadata:\n  version: 2.0.0\n"
      "  entry: shout_it\n---\n\nShouts.\n")
PYCODE = "def shout_it(text: str) -> str:\n    return text.upper()\n"
def z(entries, compress=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(out, "w", compress) as f:
        for name, data in entries:
            f.writestr(name, data)
def t(members):
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as f:
        for info, data in members:
            f.addfile(info, io.BytesIO(data) if data is not None else None)
def ti(name, data=b"", type=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name); i.size = len(data) if type == tarfile.REGTYPE else 0
    i.type = type; i.linkname = link; i.mode = 0o644
    return i, data if type == tarfile.REGTYPE else None
good = [("shout-it/SKILL.md", MD), ("shout-it/scripts/shout_it.py", PYCODE)]
if kind == "zip":
    z(good)
elif kind == "tar":
    t([ti(n, d.encode()) for n, d in good])
elif kind == "traversal":
    z(good + [("shout-it/../../evil.py", "x = 1\n")])
elif kind == "absolute":
    t([ti(n, d.encode()) for n, d in good] + [ti("/etc/evil", b"x")])
elif kind == "symlink-tar":
    t([ti(n, d.encode()) for n, d in good[:1]] +
      [ti("shout-it/scripts/shout_it.py", type=tarfile.SYMTYPE, link="/etc/passwd")])
elif kind == "symlink-zip":
    with zipfile.ZipFile(out, "w") as f:
        f.writestr(good[0][0], good[0][1])
        info = zipfile.ZipInfo("shout-it/scripts/shout_it.py")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        f.writestr(info, "/etc/passwd")
elif kind == "bad-md":
    z([("shout-it/SKILL.md", "no front matter here\n"), good[1]])
elif kind == "wrong-folder":
    z([("other/SKILL.md", MD), ("other/scripts/shout_it.py", PYCODE)])
elif kind == "two-folders":
    z(good + [("else/x.txt", "x")])
elif kind == "bomb":
    z(good + [("shout-it/zeros.bin", "\0" * (5 << 20))])
PY

mk() {
    /usr/bin/python3 bundle.py "$1" "$1.arc"
}

# skills: the names of the tenant's skills.
skills() {
    autodev ${1:+--tenant "$1"} skill list --json | json_get "sorted(s[\"name\"] for s in j)"
}

test_expect_success 'setup: a skill of two versions, the CLI export of it, tokens, the server' '
    autodev init >/dev/null &&
    printf "def word_count(text: str) -> int:\n    \"\"\"Count the words.\"\"\"\n    return len(text.split())\n" >wc.py &&
    printf "def word_count(text: str) -> int:\n    return len(text.split()) + 0\n" >wc2.py &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    autodev skill add wc2.py --name word_count --entry word_count >/dev/null &&
    autodev skill export word_count cli >/dev/null &&
    autodev skill export word_count cli1 --version 1.0.0 >/dev/null &&
    test -f cli/word-count/SKILL.md &&
    make_token admin >admin && make_token agent >agent && make_token admin other >other &&
    start_server --workers 0
'

test_expect_success 'export as zip: the folder the CLI writes, byte for byte' '
    test "$(api "$(cat agent)" GET /v1/skills/word_count/export)" = 200 &&
    grep -qi "^content-type: application/zip" headers &&
    grep -qi "^content-disposition: attachment; filename=\"word-count-1.1.0.zip\"" headers &&
    cp body wc.zip &&
    /usr/bin/python3 -c "import sys, zipfile
f = zipfile.ZipFile(\"wc.zip\")
assert f.testzip() is None
assert f.namelist() == [\"word-count/\", \"word-count/SKILL.md\", \"word-count/scripts/\", \"word-count/scripts/word_count.py\"], f.namelist()
assert f.read(\"word-count/SKILL.md\") == open(\"cli/word-count/SKILL.md\", \"rb\").read()
assert f.read(\"word-count/scripts/word_count.py\") == open(\"cli/word-count/scripts/word_count.py\", \"rb\").read()
"
'

test_expect_success 'export as tar, of an older version: the same bytes as the CLI' '
    test "$(api "$(cat agent)" GET "/v1/skills/word_count/export?format=tar&version=1.0.0")" = 200 &&
    grep -qi "^content-type: application/x-tar" headers &&
    cp body wc.tar &&
    /usr/bin/python3 -c "import tarfile
f = tarfile.open(\"wc.tar\")
m = {x.name: x for x in f.getmembers()}
assert set(m) == {\"word-count\", \"word-count/SKILL.md\", \"word-count/scripts\", \"word-count/scripts/word_count.py\"}, m
assert f.extractfile(\"word-count/SKILL.md\").read() == open(\"cli1/word-count/SKILL.md\", \"rb\").read()
assert f.extractfile(\"word-count/scripts/word_count.py\").read() == open(\"cli1/word-count/scripts/word_count.py\", \"rb\").read()
" &&
    id=$(autodev skill show word_count --json | json_get "j[\"skill\"][\"id\"]") &&
    test "$(api "$(cat agent)" GET "/v1/skills/$id/export?format=tar&version=1.0.0")" = 200 &&
    cmp body wc.tar &&
    test "$(api "$(cat agent)" GET "/v1/skills/word_count/export?format=rar")" = 400 &&
    test "$(api "$(cat agent)" GET /v1/skills/nosuch/export)" = 404 && error_is not_found &&
    test "$(api "$(cat agent)" GET "/v1/skills/word_count/export?version=9.9.9")" = 404
'

test_expect_success 'import a zip (deflated) and a tar: the skill joins the catalog, once' '
    mk zip && mk tar &&
    test "$(api "$(cat agent)" POST /v1/skills/import @zip.arc application/zip)" = 403 &&
    test "$(api "$(cat admin)" POST /v1/skills/import @zip.arc application/zip)" = 201 &&
    test "$(jbody "[j[\"skill\"], j[\"semver\"], j[\"origin\"]]")" = "[\"shout_it\", \"2.0.0\", \"import\"]" &&
    test "$(autodev skill show shout_it --json | json_get "j[\"skill\"][\"version\"]")" = 2.0.0 &&
    autodev skill show shout_it --json | json_get "j[\"version\"][\"code\"]" | grep -q "text.upper()" &&
    test "$(api "$(cat admin)" POST /v1/skills/import @tar.arc application/x-tar)" = 409 &&
    error_is conflict && grep -q "metadata.version" body &&
    test "$(api "$(cat other)" POST /v1/skills/import @tar.arc application/octet-stream)" = 201 &&
    test "$(skills other)" = "[\"shout_it\"]"
'

test_expect_success 'an exported bundle imports again (another tenant): the same code' '
    test "$(api "$(cat other)" POST /v1/skills/import @wc.zip application/zip)" = 201 &&
    test "$(autodev --tenant other skill show word_count --json | json_get "j[\"version\"][\"code\"]")" = "$(autodev skill show word_count --json | json_get "j[\"version\"][\"code\"]")"
'

test_expect_success 'refused as a folder would be, and nothing changes: traversal, links, bad SKILL.md' '
    before=$(skills) &&
    for k in traversal absolute symlink-tar symlink-zip bad-md wrong-folder two-folders; do
        mk $k &&
        status=$(api "$(cat admin)" POST /v1/skills/import @$k.arc application/octet-stream) &&
        echo "$k $status $(cat body)" >>refusals &&
        test "$status" = 422 && error_is unprocessable || { echo "case $k: $status"; exit 1; }
    done &&
    grep -q "^traversal .*unsafe path" refusals &&
    grep -q "^absolute .*unsafe path" refusals &&
    grep -q "^symlink-tar .*symbolic link" refusals &&
    grep -q "^symlink-zip .*symbolic link" refusals &&
    grep -q "^wrong-folder .*folder is" refusals &&
    test "$(skills)" = "$before"
'

test_expect_success 'oversized, wrong type, not an archive: 413, 415, 400' '
    before=$(skills) &&
    mk bomb &&
    test "$(api "$(cat admin)" POST /v1/skills/import @bomb.arc application/zip)" = 413 &&
    error_is payload_too_large &&
    test "$(api "$(cat admin)" POST /v1/skills/import @zip.arc text/plain)" = 415 &&
    error_is unsupported_media_type &&
    printf "just some bytes" >junk &&
    test "$(api "$(cat admin)" POST /v1/skills/import @junk application/octet-stream)" = 415 &&
    test "$(api "$(cat admin)" POST /v1/skills/import @junk application/zip)" = 400 &&
    error_is bad_request &&
    head -c 300 zip.arc >cut.zip &&
    test "$(api "$(cat admin)" POST /v1/skills/import @cut.zip application/zip)" = 400 &&
    test "$(skills)" = "$before" &&
    stop_server
'

test_done
