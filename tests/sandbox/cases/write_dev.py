# Writes to /dev: create a file and device nodes (a block device 8:0, like
# /dev/sda, in /dev and in /tmp), and open raw memory, the kernel log, disks,
# kvm and consoles for writing (without writing a byte). Input: {"token": T}.
import errno
import os
import stat


def _try(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main(arg):
    t = arg["token"]
    res = {
        "create /dev/autodev-sbx": _try(lambda: os.close(os.open(
            "/dev/autodev-sbx-%s-w" % t, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))),
        "mknod /dev block 8:0": _try(lambda: os.mknod(
            "/dev/autodev-sbx-%s-blk" % t, 0o600 | stat.S_IFBLK, os.makedev(8, 0))),
        "mknod /tmp block 8:0": _try(lambda: os.mknod(
            "/tmp/autodev-sbx-%s-blk" % t, 0o600 | stat.S_IFBLK, os.makedev(8, 0))),
    }
    for p in ("/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/vda",
              "/dev/sda", "/dev/nvme0n1", "/dev/loop0", "/dev/kvm", "/dev/console",
              "/dev/tty1", "/dev/cpu/0/msr"):
        res["open %s for writing" % p] = _try(
            lambda p=p: os.close(os.open(p, os.O_WRONLY | os.O_NONBLOCK)))
    return res
