#!/bin/sh
test_description='autodev research: one process drives a session at a time (a second gets an error naming the holder); a holder killed with -9 does not block resume'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"
T=$(pwd)

# eval.py: while $T/block exists, says it started and waits for $T/go.
mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' >"$1/obj.py" &&
    cat >"$1/eval.py" <<-EOF &&
	import os, time
	if os.path.exists("$T/block"):
	    open("$T/started", "w").close()
	    while not os.path.exists("$T/go"):
	        time.sleep(0.05)
	print("score: 1")
	EOF
    git -C "$1" add . && git -C "$1" $GIT_ID commit -qm init
}

# wait_for FILE: until it exists (or the holder is gone: then fail).
wait_for() {
    i=0
    while [ ! -e "$1" ]; do
        kill -0 "$2" 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -lt 6000 ] || return 1
        sleep 0.05
    done
}

autodev init >/dev/null || exit 1

test_expect_success 'a second process on the same session gets an error naming the holder' '
    mkrepo r &&
    autodev research setup --repo r --file obj.py --cmd "$PY eval.py" --metric score \
        --repeats 1 --no-sandbox --json >setup.json &&
    id=$(json_get "j[\"id\"]" <setup.json) && echo $id >id &&
    autodev research edit $id >/dev/null &&
    touch block &&
    { "$AUTODEV_BIN" research run $id >run1.out 2>run1.err & } &&
    pid=$! && echo $pid >pid &&
    wait_for started $pid &&
    test_must_fail autodev research decide $id 2>err2 &&
    grep "research session .$id. is being driven by another process (pid $pid on host " err2 &&
    test_must_fail autodev research run $id 2>err3 && grep "pid $pid" err3 &&
    test_must_fail autodev research resume $id 2>err4 && grep "pid $pid" err4 &&
    test_must_fail autodev research edit $id 2>err5 && grep "pid $pid" err5 &&
    touch go && wait $pid &&
    autodev research status $id --json | json_get "j[\"iterations\"][0][\"phase\"]" | grep "^ran$" &&
    autodev research decide $id >/dev/null
'

test_expect_success 'status reads a session while it is driven' '
    id=$(cat id) && rm -f go started &&
    autodev research edit $id >/dev/null &&
    { "$AUTODEV_BIN" research run $id >/dev/null 2>&1 & } &&
    pid=$! &&
    wait_for started $pid &&
    autodev research status $id --json | json_get "j[\"iterations\"][1][\"phase\"]" | grep "^edited$" &&
    touch go && wait $pid
'

test_expect_success 'a holder killed with -9 does not block resume' '
    id=$(cat id) && rm -f go started &&
    autodev research decide $id >/dev/null &&
    { "$AUTODEV_BIN" research resume $id >/dev/null 2>&1 & } &&
    pid=$! &&
    wait_for started $pid &&
    kill -9 $pid && { wait $pid; true; } &&
    rm block && touch go &&
    autodev research resume $id --json >res.json &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"iterations\"][2][\"detail\"][\"resumed\"]" <s.json)" = 1 &&
    ! json_get "j[\"iterations\"][2][\"detail\"]" <s.json | grep "interrupted" &&
    test "$(json_get "j[\"status\"]" <s.json)" = completed
'

test_done
