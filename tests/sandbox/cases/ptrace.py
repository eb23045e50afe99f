# ptrace and process_vm_readv: trace ourselves (PTRACE_TRACEME, which the
# kernel allows anyone), attach to our parent, to pid 1 and to a canary the
# test runs on the host as the sandbox's own uid, and read our parent's
# memory with process_vm_readv. The seccomp filter must answer EPERM to all.
# Input: {"canary": PID}.
import ctypes
import errno
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_DETACH = 0, 16, 17
SYS_process_vm_readv = 310


class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _errname():
    e = ctypes.get_errno()
    return errno.errorcode.get(e, str(e))


def _attach(pid):
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        os.waitpid(pid, 0)
        libc.ptrace(PTRACE_DETACH, pid, None, None)
        return "ok"
    return _errname()


def main(arg):
    res = {"traceme": "ok" if libc.ptrace(PTRACE_TRACEME, 0, None, None) == 0 else _errname()}
    for name, pid in (("parent", os.getppid()), ("pid 1", 1), ("canary", arg["canary"])):
        res["attach " + name] = _attach(pid)
    buf = ctypes.create_string_buffer(64)
    local = iovec(ctypes.cast(buf, ctypes.c_void_p), 64)
    remote = iovec(ctypes.c_void_p(0x400000), 64)
    libc.syscall.restype = ctypes.c_long
    r = libc.syscall(ctypes.c_long(SYS_process_vm_readv), ctypes.c_long(os.getppid()),
                     ctypes.byref(local), ctypes.c_long(1), ctypes.byref(remote),
                     ctypes.c_long(1), ctypes.c_long(0))
    res["process_vm_readv parent"] = "ok" if r >= 0 else _errname()
    return res
