def slow_sum(numbers):
    """Add up a list of numbers (and, by mistake, the list again, several times)."""
    total = 0
    # EVOLVE-BLOCK-START
    passes = 30  # a leftover of a benchmark: every pass gives the same total
    # EVOLVE-BLOCK-END
    for _ in range(passes):
        total = 0
        for x in numbers * 200:
            total = total + x
    return total // 200
