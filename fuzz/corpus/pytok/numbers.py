a = 1_000 + 0x_FF - 0o17 * 0B1010 / 1.5e-3 // .5 % 5. + 1e10 + 3j - 1.5J
b = 0 + 00 + 0.0 + 1e308 * 9.9e307 + 18446744073709551615 + 0x7fffffffffffffff
c = 1if x else 2
d = 1..real
e = 0b + 0x + 1e + 1_
