#!/bin/sh
test_description='POST /v1/skills/import takes every folder shape skill import takes and refuses what it refuses, for the same reason; the export archive gives the folder back byte for byte'
. "$(dirname "$0")/lib.sh"

# pack.py DIR OUT zip|tar: the folder DIR as an archive of one folder, its name.
cat >pack.py <<'PY'
import os, sys, tarfile, zipfile
src, out, kind = sys.argv[1:4]
top = os.path.basename(src.rstrip("/"))
entries = []
for root, dirs, files in os.walk(src):
    dirs.sort()
    rel = os.path.relpath(root, src)
    base = top if rel == "." else top + "/" + rel
    entries.append((base + "/", None))
    for f in sorted(files):
        entries.append((base + "/" + f, open(os.path.join(root, f), "rb").read()))
if kind == "zip":
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if data is None:
                z.writestr(zipfile.ZipInfo(name), b"")
            else:
                z.writestr(name, data)
else:
    import io
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in entries:
            i = tarfile.TarInfo(name.rstrip("/"))
            if data is None:
                i.type = tarfile.DIRTYPE
                t.addfile(i)
            else:
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
PY

# unpack.py ARCHIVE DIR: the archive's files under DIR (zip or tar, by content).
cat >unpack.py <<'PY'
import io, os, sys, tarfile, zipfile
arc, dest = sys.argv[1:3]
data = open(arc, "rb").read()
if data[:4] == b"PK\x03\x04":
    zipfile.ZipFile(io.BytesIO(data)).extractall(dest)
else:
    tarfile.open(fileobj=io.BytesIO(data)).extractall(dest)
PY

# skill_md DIR NAME DESCRIPTION [MORE]: SKILL.md with that front matter (MORE: more lines).
skill_md() {
    mkdir -p "in/$1" && printf -- "---\nname: %s\ndescription: %s\n%b---\n\nThe body.\n" "$2" "$3" \
        "${4:-}" >"in/$1/SKILL.md"
}

test_expect_success 'setup: folders of every shape, tokens, the server' '
    autodev init >/dev/null &&
    skill_md tone-guide tone-guide "How to write to customers." "license: MIT\n" &&
    skill_md sheet-tools sheet-tools "Read and sum spreadsheet columns." &&
    mkdir -p in/sheet-tools/scripts in/sheet-tools/references &&
    printf "import sys\nprint(sys.argv)\n" >in/sheet-tools/scripts/sum_col.py &&
    printf "def chart(rows):\n    return len(rows)\n" >in/sheet-tools/scripts/chart.py &&
    printf "#!/bin/sh\necho header\n" >in/sheet-tools/scripts/header.sh &&
    printf "CSV, UTF-8.\n" >in/sheet-tools/references/formats.md &&
    skill_md slugify slugify "Turn a title into a slug." "compatibility: Python 3\n" &&
    mkdir -p in/slugify/scripts &&
    printf "def slugify(text: str) -> str:\n    return \"-\".join(text.lower().split())\n" \
        >in/slugify/scripts/main.py &&
    make_token admin >admin &&
    start_server --workers 0
'

for s in tone-guide:zip sheet-tools:tar slugify:zip; do
    name=${s%%:*} kind=${s#*:}
    test_expect_success "import $name ($kind) over HTTP; its export is the folder, byte for byte" "
        /usr/bin/python3 pack.py in/$name $name.$kind $kind &&
        test \"\$(api \"\$(cat admin)\" POST /v1/skills/import @$name.$kind application/$( [ $kind = zip ] && echo zip || echo x-tar))\" = 201 &&
        test \"\$(jbody 'j[\"skill\"]')\" = $(echo $name | tr - _) &&
        test \"\$(api \"\$(cat admin)\" GET /v1/skills/$(echo $name | tr - _)/export?format=$kind)\" = 200 &&
        cp body $name-back.$kind &&
        /usr/bin/python3 unpack.py $name-back.$kind back-$name &&
        diff -r in/$name back-$name/$name &&
        for f in \$(cd in/$name && find . -type f); do cmp in/$name/\$f back-$name/$name/\$f || exit 1; done &&
        autodev skill export $(echo $name | tr - _) cli-$name >/dev/null &&
        diff -r in/$name cli-$name/$name
    "
done

test_expect_success 'the HTTP import is the CLI import: the same code in the catalog' '
    (cd in && autodev --home "$TRASH/h2" init >/dev/null &&
     for n in tone-guide sheet-tools slugify; do
         autodev --home "$TRASH/h2" skill import $n >/dev/null || exit 1
     done) &&
    for n in tone_guide sheet_tools slugify; do
        autodev skill show $n --json | json_get "j[\"version\"][\"code\"]" >a &&
        autodev --home "$TRASH/h2" skill show $n --json | json_get "j[\"version\"][\"code\"]" >b &&
        test_cmp a b || return 1
    done
'

test_expect_success 'what skill import refuses, the server refuses with the same reason (422)' '
    a=$(/usr/bin/python3 -c "print(\"a\" * 1025)") &&
    skill_md Bad-Name Bad-Name "Upper case." &&
    skill_md long-desc long-desc "$a" &&
    skill_md extra-key extra-key "A key the spec lacks." "version: 1.0.0\n" &&
    mkdir -p in/no-desc && printf -- "---\nname: no-desc\n---\nx\n" >in/no-desc/SKILL.md &&
    skill_md wrong-dir other-name "Its folder is another." &&
    skill_md blank-desc blank-desc "\"   \"" &&
    mkdir -p in/no-md/scripts && printf "x = 1\n" >in/no-md/scripts/x.py &&
    before=$(autodev skill list --json) &&
    for n in Bad-Name long-desc extra-key no-desc wrong-dir blank-desc no-md; do
        /usr/bin/python3 pack.py in/$n $n.zip zip &&
        status=$(api "$(cat admin)" POST /v1/skills/import @$n.zip application/zip) &&
        test "$status" = 422 || { echo "$n: $status $(cat body)"; return 1; }
        jbody "j[\"error\"][\"message\"]" >srv &&
        (cd in && test_expect_code 2 autodev skill import $n 2>../cli.err) &&
        sed -n "s/^autodev: cannot import .$n.: //p" cli.err >why &&
        test -s why &&
        grep -qF "cannot import the bundle: $(cat why)" srv ||
            { echo "$n: server: $(cat srv); cli: $(cat cli.err)"; return 1; }
    done &&
    test "$(autodev skill list --json)" = "$before"
'

test_expect_success 'stop' '
    stop_server
'

test_done
