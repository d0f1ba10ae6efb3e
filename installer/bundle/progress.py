"""Progress in bytes for long bundle operations: a bar on a terminal, a line per tenth otherwise."""
from __future__ import annotations

import sys
import threading
import time
from typing import IO
from collections.abc import Callable


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class ByteProgress:
    """Thread-safe: workers call add(n); the display is throttled to a few updates a second."""

    def __init__(self, label: str, total: int | None, stream: IO[str] | None = None,
                 on_update: Callable[[int, int | None], None] | None = None) -> None:
        """total None: not known in advance (bytes and rate are shown, no bar).

        on_update(done, total): called instead of writing to a stream (a wizard's progress bar).
        """
        self.label, self.total, self.done = label, total, 0
        self.on_update = on_update
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._shown_at = 0.0
        self._tenth = -1

    def add(self, count: int) -> None:
        with self._lock:
            self.done += count
            self._show(final=False)

    def _show(self, final: bool) -> None:
        now = time.monotonic()
        if self.on_update is not None:
            if final or now - self._shown_at >= 0.1:
                self._shown_at = now
                self.on_update(self.done, self.total)
            return
        if self.total is None:
            if final or now - self._shown_at >= (0.2 if self.tty else 5.0):
                self._shown_at = now
                start = "\r" if self.tty else ""
                end = "\n" if final or not self.tty else ""
                self.stream.write(f"{start}{self.label}: {human(self.done)} {self._rate(now)}{end}")
                self.stream.flush()
            return
        fraction = self.done / self.total if self.total else 1.0
        if self.tty:
            if not final and now - self._shown_at < 0.2:
                return
            self._shown_at = now
            width = 30
            bar = "#" * int(width * min(fraction, 1.0))
            self.stream.write(f"\r{self.label} [{bar:<{width}}] {human(self.done)} / {human(self.total)} "
                              f"{self._rate(now)}" + ("\n" if final else ""))
        else:
            tenth = int(min(fraction, 1.0) * 10)
            if tenth == self._tenth and not final:
                return
            self._tenth = tenth
            self.stream.write(f"{self.label}: {human(self.done)} of {human(self.total)} ({tenth * 10}%) "
                              f"{self._rate(now)}\n")
        self.stream.flush()

    def _rate(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        return f"{human(self.done / elapsed)}/s"

    def finish(self) -> float:
        with self._lock:
            self._show(final=True)
        return time.monotonic() - self.started
