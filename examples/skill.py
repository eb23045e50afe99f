"""A skill to try the sandbox and the offline proposer on."""


def solve(n: int) -> dict:
    """The first n square numbers and their sum."""
    # EVOLVE-BLOCK-START
    squares = [i * i for i in range(1, n + 1)]
    total = sum(squares)
    # EVOLVE-BLOCK-END
    return {"squares": squares, "sum": total}
