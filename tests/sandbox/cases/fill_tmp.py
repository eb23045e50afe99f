# Fill /tmp: write 4 MiB files into /tmp until a write fails, up to a cap
# (default 48 MiB, so that a broken sandbox does not fill the host's disk).
# With --tmpfs 16 a private /tmp must end it early with ENOSPC (or EFBIG from
# RLIMIT_FSIZE). Input: {"token": T, "cap_mb": N}.
import errno
import os


def main(arg):
    t, cap = arg["token"], arg.get("cap_mb", 48) << 20
    chunk = b"\x5a" * (1 << 20)
    total, files, err = 0, 0, None
    while total < cap and err is None:
        path = "/tmp/autodev-sbx-%s-fill-%d" % (t, files)
        try:
            with open(path, "wb", buffering=0) as f:
                files += 1
                for _ in range(4):
                    total += f.write(chunk)
        except OSError as e:
            err = errno.errorcode.get(e.errno, str(e.errno))
    return {"bytes": total, "files": files, "errno": err}
