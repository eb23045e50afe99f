# Infinite loop burning CPU: run with --cpu 1 and a longer --timeout, so
# RLIMIT_CPU (status "cpu_limit"), not the wall clock, must end it.
def main(arg=None):
    n = 0
    while True:
        n += 1
