"""The server's witness submitter: a burst of writes makes one submission, an unchanged log none but the
periodic one, and a failing round does not end the thread."""

from __future__ import annotations

import threading
import time

from gateway.services.witnessing import Submission, WitnessSubmitter


class Log:
    """What the submitter sees of the log: its size, and the rounds it asked for."""

    def __init__(self) -> None:
        self.size = 5
        self.rounds: list[int] = []
        self.fail_next = False
        self.changed = threading.Condition()

    def submit(self) -> list[Submission]:
        with self.changed:
            self.rounds.append(self.size)
            self.changed.notify_all()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the database went away")
        return []

    def wait_rounds(self, n: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.rounds) >= n, timeout=30), self.rounds


def test_a_burst_of_writes_is_one_submission() -> None:
    log = Log()
    submitter = WitnessSubmitter(submit=log.submit, size=lambda: log.size, interval=3600, debounce=0.3)
    submitter.start()
    try:
        log.wait_rounds(1)  # the first, periodic round at start
        log.size = 8
        for _ in range(5):
            submitter.poke()
        log.wait_rounds(2)
        submitter.poke()  # nothing appended since: no round
        log.fail_next = True
        log.size = 9
        submitter.poke()
        log.wait_rounds(3)  # this round fails...
        log.size = 10
        submitter.poke()
        log.wait_rounds(4)  # ...and the thread goes on
        time.sleep(0.5)
    finally:
        submitter.close()
    assert log.rounds == [5, 8, 9, 10]
