"""SSH to the machines (paramiko), with host keys verified and a timeout on every step.

Interface: `RemoteSession` (what domain code types against); `SSHSession` is its implementation
over paramiko, opened by `connect(...)`. `scan_host_key(...)` reads a server's host key without
logging in, for the operator to confirm before it is pinned.

Host keys are trusted only when pinned (SHA256 fingerprint from the answers file) or present in
a known_hosts file. An unknown key is handed to a `confirm` callback (the wizard asks the
operator); without one it is refused, naming the fingerprint so it can be pinned. A key that
differs from the pinned or known one always fails. Nothing is ever accepted automatically.
"""
from __future__ import annotations

import base64
import hashlib
import io
import shlex
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable

# confirm(host, port, fingerprint) -> True to trust an unknown key for this run
ConfirmHostKey = Callable[[str, int, str], bool]


class SSHError(Exception):
    """Connecting, authenticating or running a command failed; the message says which."""


class HostKeyError(SSHError):
    """The server's host key is unknown (refused) or differs from the trusted one (changed)."""

    def __init__(self, host: str, port: int, fingerprint: str, kind: str, expected: str | None = None) -> None:
        self.host, self.port, self.fingerprint, self.kind, self.expected = host, port, fingerprint, kind, expected
        where = host if port == 22 else f"{host}:{port}"
        if kind == "changed":
            message = (f"host key of {where} CHANGED: it presents {fingerprint} but {expected} is trusted; "
                       "this can be a machine-in-the-middle, or the machine was reinstalled")
        elif kind == "revoked":
            message = f"host key of {where} is REVOKED in known_hosts (@revoked): {fingerprint}; refusing it"
        elif kind == "ca-unsupported":
            message = (f"known_hosts trusts a certificate authority for {where} (@cert-authority), and host "
                       f"certificates cannot be checked here; pin its key {fingerprint} in target.ssh.host_keys "
                       "if it is right")
        else:
            message = f"host key of {where} is unknown: {fingerprint}; pin it in target.ssh.host_keys if it is right"
        super().__init__(message)


def sha256_fingerprint(key_blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint (what `ssh-keygen -lf` prints) of a public key in wire format."""
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def fingerprint(key: Any) -> str:
    """The SHA256 fingerprint of a paramiko key."""
    return sha256_fingerprint(key.asbytes())


def _pattern_matches(patterns: list[str], name: str) -> bool:
    """OpenSSH host patterns (`*`, `?`, `!negated`, hashed `|1|...`) against one host name."""
    import fnmatch

    from paramiko.hostkeys import HostKeys

    positive = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern[1:] if negated else pattern
        if bare.startswith("|1|"):
            hit = HostKeys.hash_host(name, bare) == bare
        else:
            hit = fnmatch.fnmatchcase(name.lower(), bare.lower())
        if hit and negated:
            return False
        positive = positive or hit
    return positive


@dataclass
class HostKeyPolicy:
    pinned: dict[str, str] = field(default_factory=dict)  # host or host:port -> SHA256:...
    known_hosts: Path | None = None
    confirm: ConfirmHostKey | None = None

    def _known(self) -> Any:
        return self._read_known_hosts()[0]

    def _read_known_hosts(self) -> tuple[Any, list[Any], list[str]]:
        """(plain host keys, revoked keys, host patterns with a @cert-authority line).

        paramiko's own loader fails on the whole file at the first marker line, so the file is
        read here line by line, as OpenSSH does: unreadable lines are skipped.
        """
        import paramiko
        from paramiko.hostkeys import HostKeyEntry

        keys = paramiko.HostKeys()
        revoked: list[Any] = []
        authorities: list[str] = []
        if self.known_hosts is None:
            return keys, revoked, authorities
        try:
            from installer.files import UnreadableFile, read_regular

            text = read_regular(self.known_hosts, 4 * 1024 * 1024).decode("utf-8", "replace")
        except UnreadableFile as exc:
            raise SSHError(f"known_hosts {self.known_hosts}: {exc}") from None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            marker = None
            if line.startswith("@"):
                marker, _, line = line.partition(" ")
                line = line.strip()
            try:
                entry = HostKeyEntry.from_line(line)
            except Exception:
                entry = None
            if entry is None or entry.key is None:
                continue
            for name in entry.hostnames:
                if marker == "@revoked":
                    revoked.append(entry.key)
                    break
                if marker == "@cert-authority":
                    authorities.append(name)
                elif marker is None:
                    keys.add(name, entry.key.get_name(), entry.key)
        return keys, revoked, authorities

    def _known_entry(self, host: str, port: int) -> Any:
        """known_hosts' keys for the machine, under the name OpenSSH writes (`[host]:port` off port 22)."""
        return self._known().lookup(host if port == 22 else f"[{host}]:{port}")

    def known_key_types(self, host: str, port: int) -> list[str]:
        entry = self._known_entry(host, port)
        return list(entry.keys()) if entry else []

    @staticmethod
    def _pinned_names(host: str, port: int) -> tuple[str, ...]:
        """The names a pinned key may be listed under, in the order they are looked up."""
        return (f"{host}:{port}", f"[{host}]:{port}", host) if port != 22 else (host, f"{host}:22")

    def trusted_fingerprints(self, host: str, port: int) -> tuple[str, tuple[str, ...]]:
        """What `verify` accepts for this machine, as (where it is trusted: "pinned" or "known_hosts", the
        fingerprints); ("", ()) when nothing is (an unknown key). Raises SSHError for an unreadable known_hosts."""
        for name in self._pinned_names(host, port):
            if name in self.pinned:
                return "pinned", (self.pinned[name].strip(),)
        entry = self._known_entry(host, port)
        return ("known_hosts", tuple(fingerprint(k) for k in entry.values())) if entry else ("", ())

    def verify(self, host: str, port: int, key: Any) -> None:
        presented = fingerprint(key)
        known, revoked, authorities = self._read_known_hosts()
        if any(k.asbytes() == key.asbytes() for k in revoked):
            raise HostKeyError(host, port, presented, "revoked")
        for name in self._pinned_names(host, port):
            if name in self.pinned:
                expected = self.pinned[name].strip()
                if expected.rstrip("=") != presented:
                    raise HostKeyError(host, port, presented, "changed", expected)
                return
        entry = known.lookup(host if port == 22 else f"[{host}]:{port}")
        if entry:
            match = entry.get(key.get_name())
            if match is not None and match.asbytes() == key.asbytes():
                return
            expected = ", ".join(fingerprint(k) for k in entry.values())
            raise HostKeyError(host, port, presented, "changed", expected)
        if _pattern_matches(authorities, host if port == 22 else f"[{host}]:{port}"):
            raise HostKeyError(host, port, presented, "ca-unsupported")
        if self.confirm is not None and self.confirm(host, port, presented):
            self.pinned[host if port == 22 else f"{host}:{port}"] = presented
            return
        raise HostKeyError(host, port, presented, "unknown")


@dataclass
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str
    started: float  # time.time() just before the command was sent
    finished: float  # time.time() when its output was complete


class RemoteSession(Protocol):
    """One authenticated shell connection to one machine, as domain code sees it.

    Opened by `connect(...)` with the host key already verified; use as a context manager.
    """

    host: str
    port: int
    user: str

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run `command` through the login shell and wait for its exit status and all its output.

        A non-zero exit status is returned, not raised. Raises SSHError when not connected, when a
        channel cannot be opened within the session's timeout, or when the command has not
        finished `timeout` seconds after it was sent (default: the session's timeout).
        """
        ...

    def sudo(self, argv: list[str], timeout: float | None = None) -> CommandResult:
        """`run` of argv as root via `sudo -n`, every argument shell-quoted; same errors as run."""
        ...

    def put_file(self, local: Path, remote: str, mode: int = 0o600, timeout: float = 3600.0,
                 progress: Callable[[int, int], None] | None = None) -> None:
        """Copy a file over SFTP, `mode` set before the first byte; SSHError on failure or after `timeout`."""
        ...

    def put_private(self, data: bytes, remote: str) -> None:
        """Write bytes to a 0600 file over SFTP (for content holding a secret); SSHError on failure."""
        ...

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...

    def __enter__(self) -> RemoteSession: ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass(frozen=True)
class ScannedHostKey:
    host: str
    port: int
    fingerprint: str  # SHA256:...
    key_type: str  # ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, ...


def load_private_key(text: str) -> Any:
    """A paramiko key from the private key file's text (OpenSSH or PEM; Ed25519, ECDSA or RSA)."""
    import paramiko

    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise SSHError("the SSH private key is protected by a passphrase; use an unencrypted deploy key "
                           "or an agent-free key file") from None
        except (paramiko.SSHException, ValueError) as exc:
            errors.append(str(exc))
    raise SSHError("the SSH private key cannot be read (Ed25519, ECDSA or RSA expected)")


# After the TERM at the time limit, a command that ignores it gets KILL this many seconds later.
REMOTE_KILL_GRACE = 2


def remote_timeout(command: str, limit: float) -> str:
    """`command` run under coreutils `timeout` on the node, so it ends there when we stop waiting.

    Closing an SSH channel without a pty does not stop the remote process: a facts command that
    hangs would keep running on the node after preflight gave up. `timeout` puts the command in
    its own process group and signals the whole group (TERM, then KILL), children included.
    The command's stdin is /dev/null (nothing here sends it input).
    The user's login shell runs the command, as sshd would; a node without `timeout` runs it
    unwrapped.
    """
    seconds = max(1, int(limit + 0.999))
    quoted = shlex.quote(command)
    shell = '"${SHELL:-/bin/sh}"'
    # `timeout` returns as soon as its own child ends; a grandchild that ignored TERM would live on,
    # so its process group (numbered after the timeout process) gets KILL after the grace period.
    return (f"if command -v timeout >/dev/null 2>&1; then "
            f"timeout -k {REMOTE_KILL_GRACE} {seconds} {shell} -c {quoted} </dev/null & t=$!; wait $t; s=$?; "
            f"if [ $s -eq 124 ] || [ $s -eq 137 ]; then sleep {REMOTE_KILL_GRACE}; kill -KILL -$t 2>/dev/null; fi; "
            f"exit $s; else exec {shell} -c {quoted}; fi")


class SSHSession:
    """RemoteSession over paramiko: one authenticated connection to one machine."""

    def __init__(self, host: str, port: int, user: str, key: Any, policy: HostKeyPolicy, timeout: float) -> None:
        self.host, self.port, self.user, self.timeout = host, port, user, timeout
        self._key, self._policy = key, policy
        self._transport: Any = None

    def __enter__(self) -> SSHSession:
        if self._transport is None:  # `with connect(...)` has opened it already
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        import paramiko

        where = f"{self.host}:{self.port}"
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise SSHError(f"cannot reach {where}: {exc.strerror or exc}") from None
        transport = paramiko.Transport(sock)
        transport.banner_timeout = self.timeout
        transport.handshake_timeout = self.timeout
        transport.auth_timeout = self.timeout
        known_types = self._policy.known_key_types(self.host, self.port)
        if known_types:
            options = transport.get_security_options()
            preferred = [t for t in options.key_types if t in known_types]
            if preferred:
                options.key_types = preferred
        self._transport = transport
        try:
            transport.start_client(timeout=self.timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise SSHError(f"no SSH handshake with {where} within {self.timeout:g}s: {exc or type(exc).__name__}") from None
        try:
            server_key = transport.get_remote_server_key()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise SSHError(f"no SSH handshake with {where} within {self.timeout:g}s: {exc}") from None
        try:
            self._policy.verify(self.host, self.port, server_key)
        except SSHError:
            self.close()
            raise
        try:
            transport.auth_publickey(self.user, self._key)
        except paramiko.AuthenticationException:
            self.close()
            raise SSHError(f"{self.user}@{where} refused the SSH key (not in the user's authorized_keys?)") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise SSHError(f"authentication with {where} failed: {exc}") from None

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run a shell command; raises SSHError if it does not finish within `timeout` seconds."""
        import paramiko

        if self._transport is None or not self._transport.is_active():
            raise SSHError(f"not connected to {self.host}:{self.port}")
        limit = timeout if timeout is not None else self.timeout
        # The node ends the command itself at `limit` (see remote_timeout); we wait a little longer
        # for its exit status, and give up on our side only if the node cannot even do that.
        deadline = time.monotonic() + limit + REMOTE_KILL_GRACE + 3
        try:
            channel = self._transport.open_session(timeout=self.timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SSHError(f"cannot open a session on {self.host}:{self.port}: {exc}") from None
        started = time.time()
        out, err = bytearray(), bytearray()
        try:
            channel.settimeout(0.2)
            _within(limit, channel, lambda: channel.exec_command(remote_timeout(command, limit)), f"{self.host}:{self.port}", "the command")
            # sshd may report the exit status before the last output: read until EOF as well.
            while True:
                progressed = False
                while channel.recv_ready():
                    out += channel.recv(65536)
                    progressed = True
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                    progressed = True
                finished = channel.exit_status_ready() and (channel.eof_received or channel.closed)
                if finished and not channel.recv_ready() and not channel.recv_stderr_ready():
                    break
                if not progressed:
                    if time.monotonic() > deadline:
                        raise SSHError(f"command on {self.host}:{self.port} did not finish within {limit:g}s")
                    time.sleep(0.01)
            status = channel.recv_exit_status()
            if status in (124, 137) and time.time() - started >= limit - 0.5:
                raise SSHError(f"command on {self.host}:{self.port} did not finish within {limit:g}s "
                               "(ended on the node)")
        except TimeoutError:
            raise SSHError(f"command on {self.host}:{self.port} did not answer within {limit:g}s") from None
        finally:
            channel.close()
        return CommandResult(status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), started, time.time())

    def sudo(self, argv: list[str], timeout: float | None = None) -> CommandResult:
        """Run argv as root through `sudo -n` (never prompts), every argument shell-quoted."""
        return self.run(sudo_command(argv), timeout=timeout)

    def _sftp(self) -> Any:
        import paramiko

        if self._transport is None or not self._transport.is_active():
            raise SSHError(f"not connected to {self.host}:{self.port}")
        try:
            channel = self._transport.open_session(timeout=self.timeout)
            _within(self.timeout, channel, lambda: channel.invoke_subsystem("sftp"), f"{self.host}:{self.port}",
                    "the SFTP subsystem")
            channel.settimeout(self.timeout)  # every SFTP request (the version exchange too) answers in time
            return paramiko.SFTPClient(channel)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SSHError(f"no SFTP on {self.host}:{self.port}: {exc or type(exc).__name__}") from None

    def put_file(self, local: Path, remote: str, mode: int = 0o600, timeout: float = 3600.0,
                 progress: Callable[[int, int], None] | None = None) -> None:
        """Copy a local file over SFTP; the remote file gets `mode` before any byte is written."""
        deadline = time.monotonic() + timeout
        size = Path(local).stat().st_size
        sftp = self._sftp()
        try:
            with open(local, "rb") as source, sftp.open(remote, "wb") as target:
                sftp.chmod(remote, mode)
                target.set_pipelined(True)
                sent = 0
                for chunk in iter(lambda: source.read(1 << 18), b""):
                    if time.monotonic() > deadline:
                        raise SSHError(f"copying {Path(local).name} to {self.host} did not finish within {timeout:g}s")
                    target.write(chunk)
                    sent += len(chunk)
                    if progress is not None:
                        progress(sent, size)
        except (TimeoutError, OSError, EOFError) as exc:
            raise SSHError(f"copying {Path(local).name} to {self.host}:{remote} failed: {exc}") from None
        finally:
            sftp.close()

    def put_private(self, data: bytes, remote: str) -> None:
        """Write bytes (a config holding a secret) to a 0600 file over SFTP: never on a command line."""
        sftp = self._sftp()
        try:
            with sftp.open(remote, "wb") as target:
                sftp.chmod(remote, 0o600)
                target.write(data)
        except (TimeoutError, OSError, EOFError) as exc:
            raise SSHError(f"writing {remote} on {self.host} failed: {exc}") from None
        finally:
            sftp.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


def _within(limit: float, channel: Any, request: Callable[[], None], where: str, what: str) -> None:
    """Run a channel request (exec, subsystem) that paramiko would wait on without any timeout.

    paramiko waits for the server's reply to a channel request forever, so a server that never
    replies would hang the installer. The channel is closed after `limit` seconds, which wakes the
    waiting request; either way a failure is raised as SSHError.
    """
    import threading

    import paramiko

    fired = threading.Event()

    def give_up() -> None:
        fired.set()
        try:
            channel.close()
        except (paramiko.SSHException, OSError, EOFError):
            pass  # the connection is gone already: the waiting request wakes up all the same

    watchdog = threading.Timer(limit, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        request()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        if fired.is_set():
            raise SSHError(f"{where} did not accept {what} within {limit:g}s") from None
        raise SSHError(f"{where} refused {what}: {exc or type(exc).__name__}") from None
    finally:
        watchdog.cancel()


def sudo_command(argv: list[str]) -> str:
    """`sudo -n -- ARG...` with every argument shell-quoted, so no argument is ever re-read by a shell."""
    return "sudo -n -- " + " ".join(shlex.quote(str(arg)) for arg in argv)


def connect(host: str, port: int, user: str, private_key: Any, policy: HostKeyPolicy, timeout: float = 10.0) -> SSHSession:
    """An open session (host key verified, key accepted) or SSHError/HostKeyError.

    `timeout` bounds each stage on its own: the TCP connect, the banner, the key exchange and the
    authentication; it is also the default limit of `run`.
    """
    session = SSHSession(host, port, user, private_key, policy, timeout)
    session.open()
    return session


def scan_host_key(host: str, port: int = 22, timeout: float = 10.0) -> ScannedHostKey:
    """The server's host key fingerprint after the key exchange, without logging in.

    Raises SSHError when the TCP connection, the banner or the key exchange does not complete
    within `timeout` seconds (each).
    """
    import paramiko

    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise SSHError(f"cannot connect: {exc.strerror or exc}") from None
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return ScannedHostKey(host, port, fingerprint(key), key.get_name())
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise SSHError(f"SSH handshake failed: {exc or type(exc).__name__}") from None
    finally:
        transport.close()
