a //= b ** 2
c := d != e <= f >= g << h >>= i
def f(a, /, *args, b=-1, **kw) -> int: ...
x @= y; x ^= ~z | w & v
print(*a, **k)
from m import *
r = [*a, -1] + (-b) - -c
q = a is not b and c not in d or e is f
