# SIGSTOP self: a stopped process never exits by itself, and a supervisor
# that waits without WUNTRACED sees nothing; the wall limit must still end
# the run (status "timeout") and kill the stopped process.
import os
import signal


def main(arg=None):
    os.kill(os.getpid(), signal.SIGSTOP)
    return "resumed"
