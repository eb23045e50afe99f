x = f"{a + 1:>{w}} {{lit}} {b!r}"
y = f'{d["k"]:"^5} {e:.3f}' + rf"\d{n}" + Fr'{x}'
z = f"{f'{f"{1 < 2}"}'}" if a == b else F"""{
    c * 2
}"""
w = f"{x:{'>'}10}" and t"{y}"
