#!/bin/sh
test_description='autodev edit apply: replies applied all or nothing'
. "$(dirname "$0")/test-lib.sh"

mkdir repo
cat >repo/calc.py <<'PY'
def add(a, b):
    return a + b


def mul(a, b):
    return a * b
PY
cp repo/calc.py calc.orig

test_expect_success 'a SEARCH/REPLACE reply changes the file' '
    cat >reply <<-\EOF &&
	Here is the fix.

	calc.py
	```python
	<<<<<<< SEARCH
	def mul(a, b):
	    return a * b
	=======
	def mul(a, b):
	    return a * b * 1
	>>>>>>> REPLACE
	```
	EOF
    autodev edit apply --repo repo <reply >out &&
    grep -q "^calc.py: block 1 applied (exact match" out &&
    grep -q "^1 file(s) changed$" out &&
    grep -q "return a \* b \* 1" repo/calc.py
'

test_expect_success 'a block that does not match changes nothing and says where to look' '
    cp repo/calc.py before &&
    cat >reply <<-\EOF &&
	calc.py
	<<<<<<< SEARCH
	def add(a, b):
	    return a - b
	=======
	def add(a, b):
	    return b + a
	>>>>>>> REPLACE
	EOF
    test_expect_code 2 autodev edit apply --repo repo <reply >out 2>err &&
    grep -q "block 1 failed" out &&
    grep -q "return a + b" out &&
    test_cmp before repo/calc.py
'

test_expect_success 'all or nothing: the second block fails, the first is not written' '
    cp repo/calc.py before &&
    cat >reply <<-\EOF &&
	calc.py
	<<<<<<< SEARCH
	    return a + b
	=======
	    return b + a
	>>>>>>> REPLACE

	calc.py
	<<<<<<< SEARCH
	    return nothing
	=======
	    return 0
	>>>>>>> REPLACE
	EOF
    test_must_fail autodev edit apply --repo repo <reply >out 2>err &&
    grep -q "block 1 applied" out && grep -q "block 2 failed" out &&
    grep -q "nothing written" out &&
    test_cmp before repo/calc.py
'

test_expect_success '--dry-run writes nothing; --json reports each block' '
    cp repo/calc.py before &&
    cat >reply <<-\EOF &&
	calc.py
	<<<<<<< SEARCH
	    return a + b
	=======
	    return b + a
	>>>>>>> REPLACE
	EOF
    autodev edit apply --repo repo --dry-run --json <reply >out &&
    test "$(json_get "j[\"ok\"]" <out)" = true &&
    test "$(json_get "j[\"blocks\"][0][\"match\"]" <out)" = exact &&
    test "$(json_get "j[\"files_changed\"]" <out)" = 0 &&
    test_cmp before repo/calc.py
'

test_expect_success 'a path outside the repository is refused' '
    cat >reply <<-\EOF &&
	../escape.py
	<<<<<<< SEARCH
	=======
	print("out")
	>>>>>>> REPLACE
	EOF
    test_must_fail autodev edit apply --repo repo <reply >out 2>err &&
    test ! -e escape.py
'

test_expect_success 'blocks that clash (a file d and a file d/x) write nothing at all' '
    mkdir clash && echo old >clash/a.txt && cp clash/a.txt a.before &&
    cat >reply <<-\EOF &&
	a.txt
	<<<<<<< SEARCH
	old
	=======
	new
	>>>>>>> REPLACE

	```text d/x
	x
	```

	file: d
	```
	file d
	```
	EOF
    test_expect_code 2 autodev edit apply --repo clash <reply >out 2>err &&
    grep -q "^d: block 3 failed" out && grep -q "nothing written" out &&
    test_one_error err "edit 3 of 3 \(d, line 13\): .d. would be a file.*d/x" &&
    test_cmp a.before clash/a.txt &&
    test ! -e clash/d && test "$(ls -A clash)" = a.txt
'

if command -v git >/dev/null 2>&1; then
    have_git=yes
else
    have_git=
fi

# A reply that sets core.fsmonitor in .git/config runs its command at the
# next "git status"; one that adds a hook, at the next commit. Every path
# form that reaches .git must be refused before anything is written.
git_fixture() {
    git init -q "$1" &&
    (cd "$1" && echo one >a.txt && ln -s .git meta && ln -s .git/config cfg &&
     git add a.txt && git -c user.name=t -c user.email=t@t commit -q -m one) &&
    cp -R "$1/.git" "$1.git-before"
}

# A good edit of a.txt, then the file $1 holding a config that runs a
# command: a fenced whole file, or a diff for a name with a space (a path
# line cannot hold one).
metadata_reply() {
    printf 'a.txt\n<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE\n\n' &&
    case $1 in
    *" "*) printf -- '--- /dev/null\n+++ b/%s\n@@ -0,0 +1,3 @@\n+[core]\n' "$1" &&
           printf '+\tfsmonitor = "touch %s/PWNED; false"\n+\thooksPath = /no\n' "$TRASH" ;;
    *) printf 'file: %s\n```\n[core]\n' "$1" &&
       printf '\tfsmonitor = "touch %s/PWNED; false"\n\thooksPath = /no\n```\n' "$TRASH" ;;
    esac
}

if test -n "$have_git"; then
test_expect_success 'edit apply never writes into a git repository, whatever the path form' '
    git_fixture gr &&
    for p in .git/config .GIT/config .Git/config ./.git/config a/../.git/config \
             .git./config ".git /config" ".git. /config" meta/config cfg \
             .git/hooks/pre-commit; do
        metadata_reply "$p" >reply &&
        test_expect_code 1 autodev edit apply --repo gr <reply >out 2>err &&
        grep -qF "autodev: edit 2 of 2 ($p, line " err &&
        grep -q "nothing written" out || { echo "path $p:"; cat out err; return 1; }
    done &&
    diff -r gr.git-before gr/.git && test "$(cat gr/a.txt)" = one &&
    (cd gr && git status --short >../status) && test ! -e PWNED &&
    test_must_fail grep -q a.txt status
'

test_expect_success 'nor into a worktree'"'"'s .git file, nor a submodule'"'"'s' '
    git_fixture wm && (cd wm && git worktree add -q ../wt 2>/dev/null) &&
    cp wt/.git wt-gitfile &&
    printf "file: .git\n\`\`\`\ngitdir: ../evil\n\`\`\`\n" >reply &&
    test_expect_code 1 autodev edit apply --repo wt <reply >out 2>err &&
    test_one_error err "edit 1 of 1 \(\.git, line 2\): .*version control" &&
    test_cmp wt-gitfile wt/.git &&
    mkdir sm && echo "gitdir: ../wm/.git" >sm/.git && cp sm/.git sm-gitfile &&
    printf "file: sm/.git\n\`\`\`\ngitdir: ../evil\n\`\`\`\n" >reply &&
    test_expect_code 1 autodev edit apply --repo . <reply >out 2>err &&
    test_one_error err "edit 1 of 1 \(sm/\.git, line 2\): .*version control" &&
    test_cmp sm-gitfile sm/.git
'
else
    test_skip 'edit apply never writes into a git repository' 'git is not installed'
    test_skip 'nor into a worktree'"'"'s .git file' 'git is not installed'
fi

test_expect_success 'a reply without edits is a clear error' '
    echo "I think the code is fine." >reply &&
    test_expect_code 2 autodev edit apply --repo repo <reply 2>err &&
    test_one_error err "no edit blocks found"
'

test_expect_success 'edit apply without --repo is a usage error' '
    test_expect_code 2 autodev edit apply </dev/null 2>err &&
    test_one_error err "needs --repo"
'

test_done
