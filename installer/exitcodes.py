"""The process exit codes every command and face uses; documented in the README and `--help`.

One owner so a script driving the installer can rely on them: 0 success, 1 a check or step
failed, 2 invalid input or usage, 130 interrupted (128 + SIGINT, as shells report it).
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
