# Exec from /tmp: copy /usr/bin/true there, make it executable and run it,
# directly, through the dynamic loader (which maps the file itself, the old
# way around noexec) and as a #! script. /tmp is mounted noexec, so each must
# fail: exec with EACCES, the loader with a non-zero exit. Input: {"token": T}.
import errno
import os
import shutil
import subprocess


def _run(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main(arg):
    binary = "/tmp/autodev-sbx-%s-exec" % arg["token"]
    script = binary + ".sh"
    shutil.copyfile("/usr/bin/true", binary)
    os.chmod(binary, 0o755)
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(script, 0o755)
    return {
        "exec": _run([binary]),
        "ld.so": _run(["/lib64/ld-linux-x86-64.so.2", binary]),
        "script": _run([script]),
    }
