"""Small CLI helpers shared by the command modules: progress display and output.

Only the standard library and typer are imported here, so every command starts fast.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager


def is_tty(stream=None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Progress:
    """Step display for long commands: a live spinner on a terminal, plain log lines otherwise.

    Cron and systemd logs get one timestamped line per step and no control characters.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.live = enabled and is_tty()
        self._status = None
        self._start = time.perf_counter()

    def __call__(self, step: str) -> None:
        if not self.enabled:
            return
        if self.live:
            if self._status is None:
                from rich.console import Console

                self._status = Console(stderr=True).status(step)
                self._status.start()
            else:
                self._status.update(step)
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            err(f"{stamp} rutopic: {step}")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def progress(enabled: bool = True):
    p = Progress(enabled)
    try:
        yield p
    finally:
        p.close()
