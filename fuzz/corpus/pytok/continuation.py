x = 1 + \
    2 + \
  3
y = (1,
# comment with 1 < 2
  2,
     [3,
4])
if x \
        and y:
    z = {
        'k': 1,
    }
\
