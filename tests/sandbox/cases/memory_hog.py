# Memory hog in one process: touch 1 MiB chunks up to 1 GiB. Contained when
# the run ends with status "oom" (cgroup OOM kill or MemoryError) instead of
# returning the 1 GiB total.
def main(arg=None):
    chunks = []
    for _ in range(1024):
        # Repeating a byte writes every page, unlike bytearray(n).
        chunks.append(bytearray(b"\x5a") * (1 << 20))
    return {"allocated_mb": len(chunks)}
