def f(x):
    y = x + 1
    return y

z = f(2) < 3
