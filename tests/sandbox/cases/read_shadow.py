# Read host secrets under /etc: password hashes, sudoers, ssh host keys;
# and list /etc. Each read reports the first bytes or the errno name.
import errno
import os


def main(arg=None):
    res = {}
    for p in ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/sudoers",
              "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"):
        try:
            with open(p, "rb") as f:
                res[p] = "read: " + f.read(64).decode(errors="replace")
        except OSError as e:
            res[p] = errno.errorcode.get(e.errno, str(e.errno))
    res["etc"] = sorted(os.listdir("/etc"))
    return res
