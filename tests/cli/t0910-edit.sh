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
