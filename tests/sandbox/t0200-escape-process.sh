#!/bin/sh
# The escape-and-abuse suite against the process backend (isolation
# "degraded": fork, setsid, rlimits, no_new_privs, seccomp, a scratch
# directory, a dedicated host uid, and a kill of that uid's processes).
# The same cases as t0100-escape-linux.sh. Those this backend contains are
# asserted as contained, with the same checks.
#
# NOT CONTAINED IN DEGRADED MODE. This backend shares the host's
# filesystem, network, pid space and /tmp, so these cases get through; each
# is asserted to do what it does (so that a change shows up here), and the
# host is still checked afterwards (nothing of the uid left, the root canary
# alive, files removed):
#   - memory spread over children: RLIMIT_AS is per process, so 8 children
#     hold 3x the memory limit between them
#   - CPU of children the kernel reaps itself (SIGCHLD ignored): the run's
#     CPU is summed from /proc, and such a child is added to no one's time
#   - filling /tmp: the host's /tmp takes all the skill writes (RLIMIT_FSIZE
#     caps each file, not the total), and it stays there after the run
#   - exec from /tmp: the host's /tmp is not noexec
#   - the host loopback: the skill connects to a host TCP listener
#   - the outside network: the skill sees the host's interfaces and routes
#   - DNS: the host's resolv.conf is readable, UDP queries reach a host listener
#   - a host unix socket that file permissions let anyone connect to
#   - an abstract unix socket of the host (no permissions apply to those)
#   - /proc/PID/mem of a host process running as the same uid: read and
#     opened for writing
#   - kill(-1) and kill(PID): a host process running as the run's uid dies
#     (the end-of-run sweep kills it too, by design: the uid is the sandbox's)
#   - two concurrent runs: they share the host /tmp and see each other's
#     pids (they cannot signal each other: each supervisor claims a uid of
#     its own)
test_description='sandbox escape and abuse suite, process backend (degraded)'
SB_BACKEND=process
. "$(dirname "$0")/lib.sh"
sb_setup
SB_ISOLATION=degraded

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

sb_test 'NOT CONTAINED: memory spread over 8 children holds 3x the limit' '
    sb_run memory_spread --memory 64 --timeout 5 &&
    sb_check memory_spread "j[\"status\"] == \"ok\" and o[\"held_at_end\"] == 8"
'

sb_test 'infinite loop ends with cpu_limit under --cpu 1' '
    sb_run busy_loop --cpu 1 --timeout 5 &&
    sb_check busy_loop "j[\"status\"] == \"cpu_limit\""
'

sb_test 'CPU spread over 8 children ends with cpu_limit at the limit for the whole run' '
    sb_run cpu_spread --cpu 1 --timeout 8 &&
    sb_check cpu_spread "j[\"status\"] == \"cpu_limit\" and j[\"cpu_ms\"] >= 900"
'

sb_test 'NOT CONTAINED: CPU of children reaped by the kernel (SIGCHLD ignored) is not summed' '
    sb_run cpu_hidden --cpu 1 --timeout 8 &&
    sb_check cpu_hidden "j[\"status\"] == \"ok\" and o[\"children\"] == 6"
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

sb_test 'a double-fork daemon is gone after the run when a user other than root runs the CLI' '
    sb_user=1 &&
    sb_run daemon --as daemon_user &&
    sb_check daemon_user "j[\"status\"] == \"ok\" and o[\"daemon_pid\"] > 0" &&
    ! sb_alive "$(sb_get daemon_user "o[\"daemon_pid\"]")" 2>/dev/null
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
    sb_check write_dev "all(v in (\"ENOENT\", \"EACCES\", \"EPERM\") for k, v in o.items() if k.startswith(\"open\"))" &&
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

sb_test 'NOT CONTAINED: filling /tmp writes into the host /tmp past the tmpfs size' '
    sb_run fill_tmp --tmpfs 16 --input "{\"token\": \"$SB_TOKEN\", \"cap_mb\": 48}" &&
    sb_check fill_tmp "o[\"errno\"] is None and o[\"bytes\"] == 48 << 20" &&
    test "$(find /tmp -maxdepth 1 -name "autodev-sbx-$SB_TOKEN-fill-*" -user "$SB_UID" | wc -l)" = 12 &&
    rm -f /tmp/autodev-sbx-$SB_TOKEN-fill-* &&
    sb_no_uid_files /tmp "$TMPDIR"
'

sb_test 'NOT CONTAINED: exec from /tmp works (the host /tmp is not noexec)' '
    sb_run exec_tmp --input "$IN_TOKEN" &&
    sb_check exec_tmp "o == {\"exec\": 0, \"ld.so\": 0, \"script\": 0}" &&
    rm -f /tmp/autodev-sbx-$SB_TOKEN-exec /tmp/autodev-sbx-$SB_TOKEN-exec.sh &&
    sb_no_uid_files /tmp "$TMPDIR"
'

# ---- the network ---------------------------------------------------------

sb_test 'NOT CONTAINED: the host loopback listener is reached; lo cannot be reconfigured' '
    sb_listen tcp &&
    sb_run net_loopback --input "{\"port\": $sb_addr}" &&
    sb_check net_loopback "o[\"connect\"] == \"ok\" and o[\"got\"] == \"host-secret-listener\n\"" &&
    sb_check net_loopback "o[\"lo up\"] == \"EPERM\"" &&
    test_line_count "$SB_HOST/tcp.log" 1
'

sb_test 'NOT CONTAINED: the host network is the skill'"'"'s: same interfaces and routes' '
    host_ifs=$($SB_PY -c "print(sorted(l.split(\":\")[0].strip() for l in open(\"/proc/net/dev\").readlines()[2:]))") &&
    sb_run net_outside --timeout 5 &&
    sb_check net_outside "str(o[\"interfaces\"]) == a[0] and o[\"routes\"] != []" "$host_ifs"
'

sb_test 'NOT CONTAINED: DNS queries reach a host listener; resolv.conf is the host'"'"'s' '
    sb_listen udp &&
    sb_run net_dns --timeout 5 --input "{\"port\": $sb_addr}" &&
    sb_check net_dns "o[\"udp query\"] == \"ok\"" &&
    if [ -r /etc/resolv.conf ]; then
        sb_check net_dns "o[\"resolv.conf\"] == open(\"/etc/resolv.conf\").read()[:200]"
    fi &&
    test_line_count "$SB_HOST/udp.log" 1
'

sb_test 'NOT CONTAINED: a host unix socket open to anyone is reached' '
    sb_listen unix "$SB_HOST/sock" &&
    sb_run unix_socket --input "{\"path\": \"$sb_addr\"}" &&
    sb_check unix_socket "o[\"connect\"] == \"ok\" and o[\"got\"] == \"host-secret-listener\n\"" &&
    test_line_count "$SB_HOST/unix.log" 1
'

sb_test 'NOT CONTAINED: an abstract unix socket of the host is reached' '
    sb_listen abstract "autodev-sbx-$SB_TOKEN" &&
    sb_run abstract_socket --input "{\"name\": \"$sb_addr\"}" &&
    sb_check abstract_socket "o[\"connect\"] == \"ok\"" &&
    test_line_count "$SB_HOST/abstract.log" 1
'

# ---- secrets ---------------------------------------------------------------

sb_test '/etc/shadow and other host secrets under /etc cannot be read' '
    sb_run read_shadow &&
    sb_check read_shadow "not any(str(v).startswith(\"read\") for k, v in o.items() if k != \"etc\")"
'

sb_test '/root and a 0700 directory of root'"'"'s cannot be read, not even via /proc/PID/root' '
    sb_run read_root --input "{\"secret\": \"$SB_SECRET_FILE\"}" &&
    sb_check read_root "not any(v.startswith((\"read\", \"listed\")) for v in o.values())"
'

sb_test 'other processes'"'"' environments cannot be read and hold no API key' '
    sb_run proc_environ &&
    sb_check proc_environ "\"OPENAI_API_KEY\" not in json.dumps(o)" &&
    sb_check proc_environ "o[\"ppid environ\"] in (\"EACCES\", \"EPERM\") and o[\"pid 1 environ\"] in (\"EACCES\", \"EPERM\")"
'

CLOSED='all(o[p][k] in ("EACCES", "EPERM") for p in ("supervisor", "cli") for k in ("environ", "mem"))'
sb_test 'the supervisor and the CLI hold no key a payload can read: not dumpable, argv scrubbed' '
    sb_run proc_secrets &&
    sb_check proc_secrets "o[\"key_in\"] == [] and o[\"supervisor\"][\"cmdline\"] == \"autodev-sandbox\\n\"" &&
    sb_check proc_secrets "$CLOSED"
'

sb_test 'the same when a user other than root runs the CLI (the payload is that uid too)' '
    sb_user=1 &&
    sb_run proc_secrets --as proc_secrets_user &&
    sb_check proc_secrets_user "o[\"key_in\"] == [] and o[\"supervisor\"][\"cmdline\"] == \"autodev-sandbox\\n\"" &&
    sb_check proc_secrets_user "$CLOSED"
'

sb_test 'the environment is scrubbed; the dedicated uid, no capabilities, no_new_privs' '
    sb_run environ &&
    sb_check environ "set(o[\"environ\"]) <= {\"PATH\", \"HOME\", \"LANG\", \"TMPDIR\", \"PYTHONDONTWRITEBYTECODE\"}" &&
    sb_check environ "o[\"uid\"] == o[\"euid\"] == o[\"gid\"] == o[\"egid\"] == int(a[0]) and o[\"groups\"] == []" "$SB_UID" &&
    sb_check environ "o[\"CapEff\"] == \"0\" * 16 and o[\"NoNewPrivs\"] == \"1\""
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
    sb_check ptrace "set(o.values()) == {\"EPERM\"}"
'

sb_test 'NOT CONTAINED: /proc/PID/mem of a same-uid host process; pid 1 and the parent stay closed' '
    sb_uid_canary &&
    sb_run proc_mem --input "{\"canary\": $sb_pid}" &&
    sb_check proc_mem "o[\"pid 1\"][\"mem\"] in (\"EACCES\", \"EPERM\") and o[\"parent\"][\"mem\"] in (\"EACCES\", \"EPERM\")" &&
    sb_check proc_mem "o[\"canary\"][\"mem\"] == \"read 4096 bytes (rw)\""
'

sb_test 'setuid su gains no uid 0 (no_new_privs)' '
    sb_run setuid &&
    sb_check setuid "o[\"NoNewPrivs\"] == \"1\"" &&
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

# The host's own /tmp is left out here ("tmp": false): other users share it.
sb_test 'symlinks planted on output paths: host file and directory untouched' '
    echo "target of $SB_TOKEN" >"$SB_HOST/target" && cp "$SB_HOST/target" target.want &&
    mkdir "$SB_HOST/victim" && echo keep >"$SB_HOST/victim/keep" &&
    sb_run output_tricks --as tricks_symlink --input "{\"mode\": \"symlink\", \"tmp\": false, \"target\": \"$SB_HOST/target\", \"victim\": \"$SB_HOST/victim\"}" &&
    sb_check tricks_symlink "j[\"status\"] == \"ok\" and len(o[\"planted\"]) > 0" &&
    test_cmp target.want "$SB_HOST/target" &&
    test "$(cat "$SB_HOST/victim/keep")" = keep &&
    sb_no_uid_files /tmp "$TMPDIR"
'

sb_test 'FIFOs planted on output paths do not hang the run' '
    sb_run output_tricks --as tricks_fifo --input "{\"mode\": \"fifo\", \"tmp\": false, \"target\": \"\", \"victim\": \"\"}" &&
    sb_check tricks_fifo "j[\"status\"] == \"ok\" and len(o[\"planted\"]) > 0" &&
    sb_no_uid_files /tmp "$TMPDIR"
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

# The FIFO lands in the host /tmp here; the test removes it.
sb_test 'a FIFO put on fd 3 gives error or a sane result' '
    sb_run fd3_tricks --as fd3_fifo --input "{\"mode\": \"fifo\", \"token\": \"$SB_TOKEN\"}" &&
    sb_check fd3_fifo "j[\"status\"] == \"error\" or (j[\"status\"] == \"ok\" and o == \"returned after fifo\")" &&
    rm -f "/tmp/autodev-sbx-$SB_TOKEN-fifo"
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

# By design the end of every run kills whatever runs as the run's uid (it
# is the sandbox's), so a host process of that uid dies with any run; the
# case after this one therefore looks at what the skill's own kill returned.
sb_test 'the end-of-run sweep kills every process of the run'"'"'s uid' '
    sb_uid_canary &&
    sb_run environ &&
    sb_check environ "o[\"uid\"] == int(a[0])" "$SB_UID" &&
    ! sb_alive "$sb_pid" 2>/dev/null
'

sb_test 'NOT CONTAINED: kill(-1) and kill(PID) reach a same-uid host canary; not root'"'"'s' '
    sb_uid_canary &&
    sb_run kill_all --input "{\"canaries\": [$SB_CANARY, $sb_pid]}" &&
    sb_check kill_all "j[\"status\"] == \"ok\" and o[\"kill(-1)\"] == \"ok\"" &&
    sb_check kill_all "o[\"canary %s\" % a[0]] == \"EPERM\" and o[\"canary %s\" % a[1]] in (\"ok\", \"ESRCH\")" "$SB_CANARY" "$sb_pid" &&
    sb_alive "$SB_CANARY" &&
    ! sb_alive "$sb_pid" 2>/dev/null
'

IN_HOLD="{\"mode\": \"hold\", \"token\": \"$SB_TOKEN\", \"hold_s\": 5}"
IN_PROBE="{\"mode\": \"probe\", \"token\": \"$SB_TOKEN\", \"probe_s\": 2}"
# Each supervisor claims a payload uid of its own, so the two runs cannot
# signal each other; what they share is the host's /tmp and pid space.
sb_test 'NOT CONTAINED: two concurrent runs share /tmp and see each other'"'"'s pids' '
    { sb_exec concurrent conc_a --timeout 10 --input "$IN_HOLD" & } &&
    wait_for sb_uid_running 10 &&
    sb_exec concurrent conc_b --timeout 6 --input "$IN_PROBE" &&
    wait &&
    sb_verify conc_a && sb_verify conc_b &&
    sb_check conc_b "j[\"status\"] == \"ok\" and a[0] in o[\"saw\"]" "/tmp/autodev-sbx-$SB_TOKEN-conc" &&
    pid_a=$(sb_get conc_a "o[\"pid\"]") &&
    sb_check conc_b "int(a[0]) in o[\"pids_seen\"] and o[\"killed\"] == []" "$pid_a" &&
    sb_check conc_a "j[\"status\"] == \"ok\"" &&
    b_start=$(sb_get conc_b "o[\"t_start\"]") && b_end=$(sb_get conc_b "o[\"t_end\"]") &&
    sb_check conc_a "o[\"t_marker\"] < float(a[1]) < o[\"t_end\"] and float(a[0]) < o[\"t_end\"]" "$b_start" "$b_end" &&
    rm -f "/tmp/autodev-sbx-$SB_TOKEN-conc" &&
    sb_no_uid_files /tmp "$TMPDIR"
'

test_done
