# Read root's home and a secret file of the test's (in a 0700 directory of
# root's), directly and through /proc/1/root and /proc/PPID/root, which lead
# into another process's root directory. Input: {"secret": PATH}.
import errno
import os


def _read(p):
    try:
        if os.path.isdir(p):
            return "listed: " + " ".join(sorted(os.listdir(p)))
        with open(p, "rb") as f:
            return "read: " + f.read(64).decode(errors="replace")
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main(arg):
    secret = arg["secret"]
    res = {}
    for p in ("/root", "/root/.bashrc", "/root/.ssh/id_rsa", secret,
              "/proc/1/root/etc/shadow", "/proc/1/root" + secret,
              "/proc/%d/root/etc/shadow" % os.getppid(),
              "/proc/%d/root%s" % (os.getppid(), secret)):
        res[p] = _read(p)
    return res
