#!/bin/sh
# The escape-and-abuse suite against the linux backend (full isolation).
# Each case runs a hostile skill from cases/ and asserts that it was
# contained: the status the contract names, the errno the skill got, and
# the host left as it was (files, sysctls, listeners, canary processes, no
# process of the sandbox's uid left; see lib.sh for the checks every run
# gets). Where this machine has no linux backend every case is skipped,
# with the reason `autodev sandbox check` gives.
test_description='sandbox escape and abuse suite, linux backend'
SB_BACKEND=linux
. "$(dirname "$0")/lib.sh"
sb_setup

"$AUTODEV_BIN" sandbox check --json >check.json 2>check.err
check_rc=$?
check_get() {
    $SB_PY -c 'import json, sys
j = json.load(open("check.json"))
print(eval(sys.argv[1]))' "$1" 2>/dev/null
}

test_expect_success 'sandbox check --json describes this machine' '
    test "$check_rc" = 0 &&
    test "$(check_get "j[\"backend\"] in (\"linux\", \"process\")")" = True &&
    test "$(check_get "j[\"isolation\"] in (\"full\", \"degraded\")")" = True &&
    test "$(check_get "all(set(c) >= {\"name\", \"ok\", \"detail\"} for c in j[\"checks\"])")" = True
'

if [ -z "$SB_SKIP" ]; then
    if [ "$check_rc" != 0 ]; then
        SB_SKIP="autodev sandbox check --json failed"
    elif [ "$(check_get 'j["backend"]')" != linux ]; then
        SB_SKIP="no linux backend here: $(check_get '"; ".join(c["name"] + ": " + str(c["detail"]) for c in j["checks"] if not c["ok"])')"
    fi
    SB_ISOLATION=$(check_get 'j["isolation"]')
fi

IN_TOKEN="{\"token\": \"$SB_TOKEN\"}"
ERRS_WRITE='{"EROFS", "EACCES", "EPERM"}'

sb_test 'no process of the sandbox uid runs before the suite' '
    sb_no_uid_left
'

# ---- processes and limits ------------------------------------------------

sb_test 'fork bomb: fork fails with EAGAIN under the pids limit, nothing left' '
    sb_run fork_bomb --pids 16 &&
    sb_check fork_bomb "j[\"status\"] == \"ok\" and o[\"errno\"] == \"EAGAIN\" and o[\"forked\"] < 16"
'

sb_test 'thread bomb: thread creation fails under the pids limit' '
    sb_run thread_bomb --pids 16 &&
    sb_check thread_bomb "j[\"status\"] == \"ok\" and o[\"threads\"] < 16 and o[\"error\"].startswith(\"RuntimeError\")"
'

sb_test 'memory hog in one process ends with status oom' '
    sb_run memory_hog --memory 64 &&
    sb_check memory_hog "j[\"status\"] == \"oom\" and o is None"
'

sb_test 'memory spread over 8 children cannot hold more than the limit in all' '
    sb_run memory_spread --memory 64 --timeout 5 &&
    sb_check memory_spread "o is None or o[\"held_at_end\"] * 24 < 64"
'

sb_test 'memory spread over children that OOM-kills some of them reports oom' '
    sb_check memory_spread "j[\"status\"] == \"oom\""
'

sb_test 'infinite loop ends with cpu_limit under --cpu 1' '
    sb_run busy_loop --cpu 1 --timeout 5 &&
    sb_check busy_loop "j[\"status\"] == \"cpu_limit\""
'

sb_test 'CPU spread over 8 children ends with cpu_limit at the limit for the whole run' '
    sb_run cpu_spread --cpu 1 --timeout 8 &&
    sb_check cpu_spread "j[\"status\"] == \"cpu_limit\" and j[\"cpu_ms\"] >= 900"
'

sb_test 'CPU of children reaped by the kernel (SIGCHLD ignored) counts: cpu_limit' '
    sb_run cpu_hidden --cpu 1 --timeout 8 &&
    sb_check cpu_hidden "j[\"status\"] == \"cpu_limit\""
'

sb_test 'sleep forever ends with timeout' '
    sb_run sleep_forever --timeout 2 &&
    sb_check sleep_forever "j[\"status\"] == \"timeout\""
'

sb_test 'SIGSTOP self ends with timeout, the stopped process killed' '
    sb_run sigstop_self --timeout 2 &&
    sb_check sigstop_self "j[\"status\"] == \"timeout\""
'

sb_test 'double-fork daemon ignoring SIGTERM is gone after the run' '
    sb_run daemon &&
    sb_check daemon "j[\"status\"] == \"ok\" and o[\"daemon_pid\"] > 0"
'

# ---- the filesystem ------------------------------------------------------

sb_test 'writes to / and /usr fail and leave nothing on the host' '
    sb_run write_root --input "$IN_TOKEN" &&
    sb_check write_root "set(o.values()) <= $ERRS_WRITE" &&
    for d in / /usr /usr/bin /usr/lib /bin /lib; do
        test ! -e "$d/autodev-sbx-$SB_TOKEN-w" || exit 1
    done &&
    test ! -e "/usr/autodev-sbx-$SB_TOKEN-d"
'

sb_test 'writes to /etc fail and leave the host /etc as it was' '
    had_preload=$(test -e /etc/ld.so.preload && echo yes || echo no) &&
    cksum /etc/passwd /etc/group /etc/hosts >etc.before &&
    sb_run write_etc --input "$IN_TOKEN" &&
    sb_check write_etc "set(o.values()) <= $ERRS_WRITE" &&
    test ! -e "/etc/autodev-sbx-$SB_TOKEN-w" &&
    test "$(test -e /etc/ld.so.preload && echo yes || echo no)" = "$had_preload" &&
    cksum /etc/passwd /etc/group /etc/hosts >etc.after &&
    test_cmp etc.before etc.after
'

sb_test 'writes to /dev fail: no files, no device nodes, no raw devices' '
    sb_run write_dev --input "$IN_TOKEN" &&
    sb_check write_dev "all(v in $ERRS_WRITE for k, v in o.items() if not k.startswith(\"open\"))" &&
    sb_check write_dev "all(v == \"ENOENT\" for k, v in o.items() if k.startswith(\"open\"))" &&
    test -z "$(ls -d /dev/autodev-sbx-$SB_TOKEN-* /tmp/autodev-sbx-$SB_TOKEN-blk 2>/dev/null)"
'

sb_test 'host sysctls cannot be written (current value only) and stay as they were' '
    sb_sysctls >sysctl.before &&
    sb_run sysctl_write &&
    sb_check sysctl_write "set(o.values()) <= $ERRS_WRITE | {\"ENOENT\"}" &&
    sb_sysctls >sysctl.after &&
    test_cmp sysctl.before sysctl.after
'

sb_test 'cgroupfs: no raising of limits, no new cgroup, no move to the root' '
    sb_run write_cgroupfs --input "$IN_TOKEN" &&
    sb_check write_cgroupfs "len(o) > 0 and set(o.values()) <= {\"ENOENT\", \"EROFS\", \"EACCES\", \"EPERM\"}" &&
    test -z "$(find /sys/fs/cgroup -maxdepth 8 -name "autodev-sbx-$SB_TOKEN" 2>/dev/null)"
'

sb_test 'filling /tmp stops at the tmpfs size with ENOSPC; host /tmp untouched' '
    sb_run fill_tmp --tmpfs 16 --input "{\"token\": \"$SB_TOKEN\", \"cap_mb\": 48}" &&
    sb_check fill_tmp "o[\"errno\"] in (\"ENOSPC\", \"EFBIG\") and o[\"bytes\"] <= 16 << 20" &&
    test -z "$(ls /tmp/autodev-sbx-$SB_TOKEN-fill-* 2>/dev/null)" &&
    sb_no_uid_files /tmp "$TMPDIR"
'

sb_test 'exec from /tmp fails: noexec stops exec, the loader and #! scripts' '
    sb_run exec_tmp --input "$IN_TOKEN" &&
    sb_check exec_tmp "o[\"exec\"] == \"EACCES\" and o[\"script\"] == \"EACCES\" and o[\"ld.so\"] != 0" &&
    test ! -e "/tmp/autodev-sbx-$SB_TOKEN-exec"
'

# ---- the network ---------------------------------------------------------

sb_test 'no connection to a listener on the host loopback; lo stays down' '
    sb_listen tcp &&
    sb_run net_loopback --input "{\"port\": $sb_addr}" &&
    sb_check net_loopback "o[\"connect\"] != \"ok\" and o[\"lo up\"] == \"EPERM\"" &&
    sb_log_empty tcp
'

sb_test 'no route outside: no interface but lo, every connect ENETUNREACH' '
    sb_run net_outside &&
    sb_check net_outside "o[\"interfaces\"] == [\"lo\"] and o[\"routes\"] == []" &&
    sb_check net_outside "all(v == \"ENETUNREACH\" for k, v in o.items() if k[:3] in (\"tcp\", \"udp\"))"
'

sb_test 'no DNS: names do not resolve, queries reach no host resolver' '
    sb_listen udp &&
    sb_run net_dns --input "{\"port\": $sb_addr}" &&
    sb_check net_dns "o[\"getaddrinfo\"] == \"gaierror\" and o[\"udp query\"] == \"ENETUNREACH\"" &&
    sb_log_empty udp
'

sb_test 'a unix socket in the host /tmp is out of reach' '
    sb_listen unix "$SB_HOST/sock" &&
    sb_run unix_socket --input "{\"path\": \"$sb_addr\"}" &&
    sb_check unix_socket "o[\"connect\"] != \"ok\"" &&
    sb_log_empty unix
'

sb_test 'an abstract unix socket of the host is out of reach' '
    sb_listen abstract "autodev-sbx-$SB_TOKEN" &&
    sb_run abstract_socket --input "{\"name\": \"$sb_addr\"}" &&
    sb_check abstract_socket "o[\"connect\"] != \"ok\"" &&
    sb_log_empty abstract
'

# ---- secrets ---------------------------------------------------------------

sb_test '/etc/shadow and other host secrets under /etc cannot be read' '
    sb_run read_shadow &&
    sb_check read_shadow "not any(str(v).startswith(\"read\") for k, v in o.items() if k != \"etc\")" &&
    sb_check read_shadow "not {\"shadow\", \"gshadow\", \"sudoers\", \"ssh\"} & set(o[\"etc\"]) and len(o[\"etc\"]) <= 8"
'

sb_test '/root and a 0700 directory of root'"'"'s cannot be read, not even via /proc/PID/root' '
    sb_run read_root --input "{\"secret\": \"$SB_SECRET_FILE\"}" &&
    sb_check read_root "not any(v.startswith((\"read\", \"listed\")) for v in o.values())"
'

sb_test 'other processes'"'"' environments hold no API key; only init is visible' '
    sb_run proc_environ &&
    sb_check proc_environ "\"OPENAI_API_KEY\" not in json.dumps(o)" &&
    sb_check proc_environ "set(o[\"others\"]) <= {\"1\"}"
'

# no_host_tokens OUT: the result of OUT shows nothing of the CLI's argv
# (its --input, --code path, options, binary), environment or directory.
no_host_tokens() {
    sb_check "$1" "not [t for t in a if t in json.dumps(o)]" "$SB_TOKEN-argv" "$SB_CASES" \
        "$AUTODEV_BIN" --entry --code "$SB_HOST_ENV" "$TRASH"
}
sb_test '/proc/1 (the sandbox init) and /proc/self show nothing of the host argv, environment or paths' '
    sb_run proc_host --input "{\"token\": \"$SB_TOKEN-argv\"}" &&
    sb_check proc_host "o[\"1/cmdline\"] == \"autodev-sandbox\\n\"" &&
    no_host_tokens proc_host
'

sb_test 'the same when a user other than root runs the CLI' '
    sb_user=1 && SB_ISOLATION=degraded &&
    sb_run proc_host --as proc_host_user --input "{\"token\": \"$SB_TOKEN-argv\"}" &&
    sb_check proc_host_user "o[\"1/cmdline\"] == \"autodev-sandbox\\n\"" &&
    no_host_tokens proc_host_user
'

sb_test 'the environment is scrubbed; no uid 0, no capabilities, no_new_privs' '
    sb_run environ &&
    sb_check environ "set(o[\"environ\"]) <= {\"PATH\", \"HOME\", \"LANG\", \"TMPDIR\", \"PYTHONDONTWRITEBYTECODE\"}" &&
    sb_check environ "o[\"environ\"][\"HOME\"] == o[\"environ\"][\"TMPDIR\"] == \"/tmp\"" &&
    sb_check environ "o[\"uid\"] != 0 and o[\"euid\"] != 0 and o[\"CapEff\"] == \"0\" * 16" &&
    sb_check environ "o[\"NoNewPrivs\"] == \"1\" and o[\"hostname\"] == \"sandbox\""
'

sb_test 'an fd the CLI inherited (7, a secret file) is closed in the skill' '
    sb_run inherited_fds &&
    sb_check inherited_fds "o[\"fd7\"] == \"EBADF\"" &&
    sb_check inherited_fds "not any(a[0] in t for t in o[\"fds\"].values())" "$SB_SECRET_FILE"
'

# ---- privilege -----------------------------------------------------------

sb_test 'ptrace and process_vm_readv answer EPERM, even on a same-uid host process' '
    sb_uid_canary &&
    sb_run ptrace --input "{\"canary\": $sb_pid}" &&
    sb_check ptrace "set(o.values()) == {\"EPERM\"}" &&
    sb_alive "$sb_pid"
'

sb_test '/proc/1/mem, the parent'"'"'s and a same-uid host process'"'"'s memory cannot be opened' '
    sb_uid_canary &&
    sb_run proc_mem --input "{\"canary\": $sb_pid}" &&
    sb_check proc_mem "all(v[\"mem\"] in (\"EACCES\", \"EPERM\", \"ENOENT\", \"ESRCH\") for v in o.values())"
'

sb_test 'setuid su gains no uid 0 (no_new_privs, /usr nosuid)' '
    sb_run setuid &&
    sb_check setuid "o[\"NoNewPrivs\"] == \"1\" and \"nosuid\" in o[\"/usr mount options\"].split(\",\")" &&
    sb_check setuid "not isinstance(o[\"su\"], dict) or ((o[\"su\"][\"uids\"] is None or o[\"su\"][\"uids\"][1] != 0) and o[\"su\"][\"exit\"] != 0)"
'

sb_test 'unshare, clone of namespaces, setns, mount, pivot_root, chroot: EPERM (clone3 ENOSYS)' '
    sb_run ns_syscalls &&
    sb_check ns_syscalls "o.pop(\"clone3\") == \"ENOSYS\" and set(o.values()) == {\"EPERM\"}"
'

sb_test 'bpf, io_uring, keyctl, perf, userfaultfd, TIOCSTI, modules, socket families but unix/inet/inet6: EPERM' '
    sb_run kernel_syscalls &&
    sb_check kernel_syscalls "set(o.values()) == {\"EPERM\"}"
'

# ---- the result channel ----------------------------------------------------

sb_test 'symlinks planted on output paths: host file and directory untouched' '
    echo "target of $SB_TOKEN" >"$SB_HOST/target" && cp "$SB_HOST/target" target.want &&
    mkdir "$SB_HOST/victim" && echo keep >"$SB_HOST/victim/keep" &&
    sb_run output_tricks --as tricks_symlink --input "{\"mode\": \"symlink\", \"tmp\": true, \"target\": \"$SB_HOST/target\", \"victim\": \"$SB_HOST/victim\"}" &&
    sb_check tricks_symlink "j[\"status\"] == \"ok\" and len(o[\"planted\"]) > 0" &&
    test_cmp target.want "$SB_HOST/target" &&
    test "$(cat "$SB_HOST/victim/keep")" = keep
'

sb_test 'FIFOs planted on output paths do not hang the run' '
    sb_run output_tricks --as tricks_fifo --input "{\"mode\": \"fifo\", \"tmp\": true, \"target\": \"\", \"victim\": \"\"}" &&
    sb_check tricks_fifo "j[\"status\"] == \"ok\" and len(o[\"planted\"]) > 0"
'

sb_test 'closing fd 3 (the result pipe) gives error or a sane result' '
    sb_run fd3_tricks --as fd3_close --input "{\"mode\": \"close\"}" &&
    sb_check fd3_close "j[\"status\"] == \"error\" or (j[\"status\"] == \"ok\" and o == \"returned after close\")"
'

sb_test 'garbage on fd 3 gives error or a sane result' '
    sb_run fd3_tricks --as fd3_garbage --input "{\"mode\": \"garbage\"}" &&
    sb_check fd3_garbage "j[\"status\"] == \"error\" or (j[\"status\"] == \"ok\" and o == \"returned after garbage\")"
'

sb_test 'a spoofed result line on fd 3 cannot claim another isolation or backend' '
    sb_run fd3_tricks --as fd3_spoof --input "{\"mode\": \"spoof\"}" &&
    sb_check fd3_spoof "j[\"status\"] in (\"ok\", \"error\") and j[\"execution_id\"] != \"spoofed\""
'

sb_test 'a blocked fd 3 ends with timeout, not a hang' '
    sb_run fd3_tricks --as fd3_block --timeout 2 --input "{\"mode\": \"block\"}" &&
    sb_check fd3_block "j[\"status\"] == \"timeout\""
'

sb_test 'a FIFO put on fd 3 gives error or a sane result' '
    sb_run fd3_tricks --as fd3_fifo --input "{\"mode\": \"fifo\", \"token\": \"$SB_TOKEN\"}" &&
    sb_check fd3_fifo "j[\"status\"] == \"error\" or (j[\"status\"] == \"ok\" and o == \"returned after fifo\")" &&
    test ! -e "/tmp/autodev-sbx-$SB_TOKEN-fifo"
'

sb_test '256 MiB without a newline on fd 3 hits the output limit' '
    sb_run fd3_tricks --as fd3_flood --input "{\"mode\": \"flood\"}" &&
    sb_check fd3_flood "j[\"status\"] in (\"output_limit\", \"error\")"
'

for mode in stdout stderr child result; do
    sb_test "1 GiB of output ($mode) ends with output_limit, truncated" "
        sb_run big_output --as big_$mode --input '{\"mode\": \"$mode\"}' &&
        sb_check big_$mode 'j[\"status\"] == \"output_limit\" and j[\"truncated\"] is True'
    "
done

# ---- other runs and host processes ---------------------------------------

sb_test 'kill(-1) and kills by pid reach neither a root nor a same-uid host canary' '
    sb_uid_canary &&
    sb_run kill_all --input "{\"canaries\": [$SB_CANARY, $sb_pid]}" &&
    sb_check kill_all "j[\"status\"] == \"ok\" and all(o[\"canary %s\" % p] != \"ok\" for p in a)" "$SB_CANARY" "$sb_pid" &&
    sb_alive "$SB_CANARY" &&
    sb_alive "$sb_pid"
'

IN_HOLD="{\"mode\": \"hold\", \"token\": \"$SB_TOKEN\", \"hold_s\": 5}"
IN_PROBE="{\"mode\": \"probe\", \"token\": \"$SB_TOKEN\", \"probe_s\": 2}"
sb_test 'two concurrent runs share no /tmp, see no pids, signal nothing' '
    { sb_exec concurrent conc_a --timeout 10 --input "$IN_HOLD" & } &&
    wait_for sb_uid_running 10 &&
    sb_exec concurrent conc_b --timeout 6 --input "$IN_PROBE" &&
    wait &&
    sb_verify conc_a && sb_verify conc_b &&
    sb_check conc_a "j[\"status\"] == \"ok\" and \"/tmp\" in o[\"written\"]" &&
    sb_check conc_b "j[\"status\"] == \"ok\" and o[\"saw\"] == [] and o[\"killed\"] == []" &&
    sb_check conc_b "o[\"pids_seen\"] == []" &&
    b_start=$(sb_get conc_b "o[\"t_start\"]") && b_end=$(sb_get conc_b "o[\"t_end\"]") &&
    sb_check conc_a "o[\"t_marker\"] < float(a[1]) < o[\"t_end\"] and float(a[0]) < o[\"t_end\"]" "$b_start" "$b_end" &&
    test ! -e "/tmp/autodev-sbx-$SB_TOKEN-conc"
'

test_done
