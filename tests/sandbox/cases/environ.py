# The skill's own environment and identity: every variable it was given (no
# API keys, nothing of the caller's beyond PATH, HOME, LANG and TMPDIR), its
# uids and groups, and whether no_new_privs is set.
import os


def main(arg=None):
    with open("/proc/self/status") as f:
        status = dict(l.split(":\t", 1) for l in f.read().splitlines() if ":\t" in l)
    return {
        "environ": dict(os.environ),
        "uid": os.getuid(), "euid": os.geteuid(),
        "gid": os.getgid(), "egid": os.getegid(),
        "groups": os.getgroups(),
        "NoNewPrivs": status.get("NoNewPrivs", "").strip(),
        "CapEff": status.get("CapEff", "").strip(),
        "CapBnd": status.get("CapBnd", "").strip(),
        "hostname": os.uname().nodename,
    }
