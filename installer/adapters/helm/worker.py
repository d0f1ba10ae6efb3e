"""The parent's side of the Helm child process: start it, exchange JSON lines, bound every call.

The Go library runs in a child process (`python -m installer.adapters.helm.server`), one per
engine, for four reasons found by probing:
- Helm's `sql` release driver reads HELM_DRIVER_SQL_CONNECTION_STRING from the
  environment the process *started* with (the Go runtime copies it at load; setting
  os.environ later has no effect), so the DSN is handed to the child in its environment,
  never on a command line;
- list/history/rollback/uninstall take no cancellation token, so a hung API server can
  only be bounded by a deadline that kills the child;
- a Go runtime inside the installer process would make every later fork() unsafe;
- the 85 MB library never loads for commands that do not need it.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from installer.adapters.helm.interface import SQL_DSN_ENV, HelmEngineError, ReleaseNotFound, ReleaseStorage

WORKER_START_TIMEOUT = 30.0
CANCEL_GRACE = 5.0
SERVER_MODULE = "installer.adapters.helm.server"


# What the Helm child needs from the parent's environment: where things are, locale, proxies and
# TLS trust for reaching the API server, Helm's and Go's own settings. Nothing else: the parent's
# environment holds every `{env: NAME}` secret of the answers file.
_ENV_NAMES = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH",
              "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "KUBECONFIG",
              "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}
_ENV_PREFIXES = ("LC_", "XDG_", "GO", "HELM_")


def worker_environment(environ: Any) -> dict[str, str]:
    """The allow-listed part of `environ` (the sql DSN is added by the caller only when it is used)."""
    return {name: value for name, value in environ.items()
            if (name in _ENV_NAMES or name.startswith(_ENV_PREFIXES)) and name != SQL_DSN_ENV}


class Worker:
    """The child process speaking JSON lines on stdin/stdout.

    `call` raises HelmEngineError: kind "timeout" past its deadline, "cancelled" when `interrupt`
    could not stop the action within cancel_grace, "worker" when the child died; the caller then
    kills this worker and starts a fresh one.
    """

    def __init__(self, settings: dict[str, Any], storage: ReleaseStorage, cancel_grace: float = CANCEL_GRACE) -> None:
        self.cancel_grace = cancel_grace
        env = worker_environment(os.environ)
        if storage.sql_dsn is not None:
            env[SQL_DSN_ENV] = storage.sql_dsn
        package_root = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._stderr: deque[str] = deque(maxlen=40)
        self.cancel_at: float | None = None
        self.stuck = False
        self._replies: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, json.dumps(settings)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, text=True, encoding="utf-8", bufsize=1,
        )
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.call("ping", {}, WORKER_START_TIMEOUT)

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.rstrip())

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, op: str, args: dict[str, Any], timeout: float) -> Any:
        try:
            return self._exchange(op, args, timeout)
        finally:
            self.cancel_at = None

    def _exchange(self, op: str, args: dict[str, Any], timeout: float) -> Any:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise HelmEngineError(f"the Helm worker is gone: {exc}; {self._tail()}", kind="worker") from exc
        deadline = time.monotonic() + timeout
        line: str | None = ""
        while line == "":
            now = time.monotonic()
            if self.cancel_at is not None and now >= self.cancel_at:
                self.stuck = True
                raise HelmEngineError(f"Helm {op} was cancelled (stopped after {self.cancel_grace:g} s)",
                                      kind="cancelled")
            if now >= deadline:
                raise HelmEngineError(f"Helm {op} did not answer within {timeout:.0f} s", kind="timeout")
            try:
                line = self._replies.get(timeout=min(0.2, deadline - now))
            except queue.Empty:
                line = ""
        if line is None:
            raise HelmEngineError(f"the Helm worker exited during {op}; {self._tail()}", kind="worker")
        reply = json.loads(line)
        if reply.get("ok"):
            return reply.get("result")
        kind, message = reply.get("kind", "release"), reply.get("message", "")
        if kind == "not-found":
            raise ReleaseNotFound(message)
        raise HelmEngineError(message, kind=kind)

    def _tail(self) -> str:
        return "worker stderr: " + (" | ".join(self._stderr) or "(empty)")

    def interrupt(self) -> None:
        """Ask Helm to cancel; an action stuck where Helm's context does not reach (a silent API
        server during discovery) is cut off after cancel_grace seconds by killing the worker."""
        if self.alive():
            self.process.send_signal(signal.SIGUSR1)
            if self.cancel_at is None:
                self.cancel_at = time.monotonic() + self.cancel_grace

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
