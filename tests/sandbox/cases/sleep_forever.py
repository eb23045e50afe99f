# Sleep forever: uses no CPU, so only the wall-clock limit can end it
# (status "timeout").
import time


def main(arg=None):
    while True:
        time.sleep(3600)
