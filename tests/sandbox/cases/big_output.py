# 1 GiB of output. Input {"mode": M}: "stdout" or "stderr" writes 1 GiB
# there in 1 MiB chunks; "child" has /usr/bin/head copy 1 GiB of /dev/zero
# to the inherited stdout; "result" returns a 16 MiB string. Each must end
# with status "output_limit" and the streams kept at 64 KiB.
import subprocess
import sys


def main(arg):
    mode = arg["mode"]
    if mode == "result":
        return "x" * (16 << 20)
    if mode == "child":
        subprocess.run(["/usr/bin/head", "-c", str(1 << 30), "/dev/zero"])
        return "child done"
    stream = sys.stdout.buffer if mode == "stdout" else sys.stderr.buffer
    chunk = b"y" * (1 << 20)
    for _ in range(1024):
        stream.write(chunk)
        stream.flush()
    return "wrote 1 GiB"
