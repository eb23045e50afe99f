"""Scores documents."""
import math

# EVOLVE-BLOCK-START
def score(q, d, w=0.25):
    if not q or not d:
        return 0.0
    s = len(q & d) / len(q) * 1.0
    s += math.log1p(d.get("clicks", 0)) * w
    if s >= 1 and d.get("pinned") is True:
        s *= 2
    elif s < 0.5 or d.get("age", 30) > 365:
        s = s - 0.1
    return s
# EVOLVE-BLOCK-END


def main():
    print(score({"a"}, {"a": 1}))
