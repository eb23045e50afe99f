# Kernel attack surface through ctypes: bpf, io_uring, the keyring,
# perf_event_open, userfaultfd (in the user-mode-only flavour anyone may
# use), netlink, packet and vsock sockets, and every other address family
# but unix, inet and inet6 (AF_ALG's kernel crypto, TIPC, RDS, CAN, ...:
# absent on some kernels, modules a socket() call loads on stock ones),
# with socket() and socketpair(), TIOCSTI (pushing keystrokes into
# a terminal), open_by_handle_at, kexec and modules. Several of these work
# for any unprivileged process on a stock kernel, so only the seccomp filter
# can answer EPERM to them. Each reports "ok" or the errno name.
import ctypes
import errno
import os
import socket

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def _arg(a):
    if isinstance(a, int):
        return ctypes.c_long(a)
    if isinstance(a, bytes):
        return ctypes.c_char_p(a)
    return a


def sc(nr, *args, fd=False):
    r = libc.syscall(ctypes.c_long(nr), *[_arg(a) for a in args])
    if r < 0:
        e = ctypes.get_errno()
        return errno.errorcode.get(e, str(e))
    if fd:
        os.close(r)
    return "ok"


def _socket(family, kind, proto=0):
    try:
        socket.socket(family, kind, proto).close()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def _socket_raw(nr, family, kind=socket.SOCK_STREAM):
    if nr == 41:
        return sc(41, family, kind, 0, fd=True)
    fds = (ctypes.c_int * 2)()
    return sc(53, family, kind, 0, fds)


def main(arg=None):
    bpf_attr = ctypes.create_string_buffer(128)
    ctypes.memmove(bpf_attr, (ctypes.c_uint32 * 4)(2, 4, 4, 1), 16)  # array map
    uring = ctypes.create_string_buffer(120)
    perf = ctypes.create_string_buffer(128)
    # type SOFTWARE, size 128, config CPU_CLOCK, flags disabled|exclude_kernel|exclude_hv
    ctypes.memmove(perf, (ctypes.c_uint32 * 2)(1, 128), 8)
    ctypes.memmove(ctypes.byref(perf, 40), (ctypes.c_uint64 * 1)(1 | 32 | 64), 8)
    handle = ctypes.create_string_buffer(136)
    ctypes.memmove(handle, (ctypes.c_uint32 * 2)(128, 1), 8)
    KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_SESSION_KEYRING = -2, -3
    O_CLOEXEC, UFFD_USER_MODE_ONLY, TIOCSTI = 0o2000000, 1, 0x5412
    return {
        "bpf(MAP_CREATE)": sc(321, 0, bpf_attr, 128, fd=True),
        "io_uring_setup": sc(425, 4, uring, fd=True),
        "keyctl(GET_KEYRING_ID)": sc(250, 0, KEY_SPEC_SESSION_KEYRING, 0),
        "add_key": sc(248, b"user", b"autodev-sbx", b"x", 1, KEY_SPEC_PROCESS_KEYRING),
        "request_key": sc(249, b"user", b"autodev-sbx", None, 0),
        "perf_event_open": sc(298, perf, 0, -1, -1, 0, fd=True),
        "userfaultfd": sc(323, O_CLOEXEC | UFFD_USER_MODE_ONLY, fd=True),
        "socket(AF_NETLINK)": _socket(socket.AF_NETLINK, socket.SOCK_RAW, 0),
        "socket(AF_PACKET)": _socket(socket.AF_PACKET, socket.SOCK_RAW, 0),
        "socket(AF_VSOCK)": _socket(40, socket.SOCK_STREAM, 0),
        "socket(AF_ALG)": _socket_raw(41, 38, socket.SOCK_SEQPACKET),
        "socket(AF_TIPC)": _socket_raw(41, 30, socket.SOCK_RDM),
        "socket(AF_RDS)": _socket_raw(41, 21, socket.SOCK_SEQPACKET),
        "socket(AF_CAN)": _socket_raw(41, 29, socket.SOCK_RAW),
        "socket(AF_BLUETOOTH)": _socket_raw(41, 31, socket.SOCK_STREAM),
        "socket(AF_UNSPEC)": _socket_raw(41, 0, socket.SOCK_STREAM),
        "socket(family 1000)": _socket_raw(41, 1000, socket.SOCK_STREAM),
        "socketpair(AF_TIPC)": _socket_raw(53, 30, socket.SOCK_RDM),
        "socketpair(AF_NETLINK)": _socket_raw(53, 16, socket.SOCK_RAW),
        "ioctl(TIOCSTI)": sc(16, 0, TIOCSTI, b"x"),
        "open_by_handle_at": sc(304, -100, handle, 0, fd=True),
        "kexec_load": sc(246, 0, 0, None, 0),
        "init_module": sc(175, None, 0, b""),
        "finit_module": sc(313, -1, b"", 0),
        "delete_module": sc(176, b"autodev_sbx", 0),
    }
