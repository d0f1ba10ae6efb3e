"""One cluster node over SSH: what it has, and the few actions provisioning takes on it.

Every command is argv quoted by the SSH adapter's sudo helper, bounded in time, and free of secrets:
a file holding the token is written over SFTP into a 0700 staging folder the SSH user owns (0600
before any byte is written), then moved into place by `sudo install -m 0600`. Reading a token back
(the cluster's own, when the state directory was lost) goes through a command's output, never argv.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from collections.abc import Callable

from installer.provision.artifacts import SUMS, Artifact, Bundle
from installer.provision.config import CONFIG_PATH, REGISTRIES_PATH

INSTALLER_DIR = "/var/lib/rancher/digit-installer"
STAGING = f"{INSTALLER_DIR}/artifacts"
UPLOADS = f"{INSTALLER_DIR}/uploads"
INSTALLED_MARK = f"{INSTALLER_DIR}/installed-{SUMS}"
TOKEN_FILE = "/var/lib/rancher/rke2/server/token"
KUBECONFIG_FILE = "/etc/rancher/rke2/rke2.yaml"
RKE2 = "/usr/local/bin/rke2"
COMMAND_TIMEOUT = 60.0
INSTALL_TIMEOUT = 900.0
START_TIMEOUT = 600.0
MARK = "@@digit-rke2 "


class NodeError(Exception):
    """A command on the node failed; the message names the node and what failed."""


@dataclass(frozen=True)
class NodeState:
    """What a node has, read before anything is done to it."""
    version: str | None  # first line of `rke2 --version`
    installed_release: str | None  # digest of the sums file of the installed release
    server_active: bool
    agent_active: bool
    config_sha256: str | None
    registries_sha256: str | None
    config_joins: bool | None  # config.yaml names a `server:` (None: no config)
    has_token: bool  # /var/lib/rancher/rke2/server/token: this node is (or was) an initialised server
    has_kubeconfig: bool

    def active(self, rke2_role: str) -> bool:
        return self.server_active if rke2_role == "server" else self.agent_active

    @property
    def initialised_server(self) -> bool:
        """A server that started a cluster of its own (not one that joined)."""
        return self.has_token and self.config_joins is False


_INSPECT = f"""export LC_ALL=C
s() {{ echo '{MARK}'"$1"; }}
s version; {RKE2} --version 2>/dev/null | head -n 1
s installed; sha256sum {INSTALLED_MARK} 2>/dev/null | cut -d' ' -f1
s server; systemctl is-active rke2-server 2>/dev/null
s agent; systemctl is-active rke2-agent 2>/dev/null
s config; sha256sum {CONFIG_PATH} 2>/dev/null | cut -d' ' -f1
s registries; sha256sum {REGISTRIES_PATH} 2>/dev/null | cut -d' ' -f1
s joins; if [ -f {CONFIG_PATH} ]; then grep -c '^server:' {CONFIG_PATH}; fi
s token; test -s {TOKEN_FILE} && echo yes
s kubeconfig; test -s {KUBECONFIG_FILE} && echo yes
s end
"""


def parse_sections(output: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith(MARK):
            current = line[len(MARK):].strip()
            sections[current] = ""
        elif current is not None:
            sections[current] = (sections[current] + "\n" + line).strip()
    return sections


class NodeOps:
    """The actions provisioning takes on one node, through one open SSH session."""

    def __init__(self, session: Any, label: str, user: str) -> None:
        self.session, self.label, self.user = session, label, user

    def _sudo(self, argv: list[str], what: str, timeout: float = COMMAND_TIMEOUT) -> str:
        from installer.adapters.ssh import SSHError

        try:
            result = self.session.sudo(argv, timeout=timeout)
        except SSHError as exc:
            raise NodeError(f"{self.label}: {what}: {exc}") from None
        if result.exit_status != 0:
            detail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
            raise NodeError(f"{self.label}: {what} failed (exit {result.exit_status}): {' / '.join(detail)}")
        return str(result.stdout)

    def run_as_root(self, script: str, what: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """A fixed shell script (its values shell-quoted by the caller, never a secret) run by root."""
        return self._sudo(["sh", "-c", script], what, timeout)

    def inspect(self) -> NodeState:
        sections = parse_sections(self.run_as_root(_INSPECT, "reading RKE2's state"))
        if "end" not in sections:
            raise NodeError(f"{self.label}: reading RKE2's state ended early")
        joins = sections.get("joins", "")
        return NodeState(
            version=sections.get("version") or None, installed_release=sections.get("installed") or None,
            server_active=sections.get("server") == "active", agent_active=sections.get("agent") == "active",
            config_sha256=sections.get("config") or None, registries_sha256=sections.get("registries") or None,
            config_joins=None if joins == "" else joins.strip() != "0", has_token=sections.get("token") == "yes",
            has_kubeconfig=sections.get("kubeconfig") == "yes")

    # --- artifacts ----------------------------------------------------------------------------
    def prepare_folders(self) -> None:
        """The installer's folder (root's) and two folders of the SSH user's (0700) to upload into."""
        self._sudo(["install", "-d", "-m", "0755", INSTALLER_DIR], "creating " + INSTALLER_DIR)
        for folder in (STAGING, UPLOADS):
            self._sudo(["install", "-d", "-o", self.user, "-m", "0700", folder], "creating " + folder)

    def staged_digests(self, bundle: Bundle) -> dict[str, str]:
        names = " ".join(shlex.quote(f"{STAGING}/{a.name}") for a in bundle.files)
        out = self.run_as_root(f"sha256sum {names} 2>/dev/null || true", "checking copied artifacts", INSTALL_TIMEOUT)
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                found[PurePosixPath(parts[1]).name] = parts[0]
        return found

    def stage(self, artifact: Artifact, progress: Callable[[int, int], None] | None = None) -> None:
        from installer.adapters.ssh import SSHError

        try:
            self.session.put_file(artifact.path, f"{STAGING}/{artifact.name}", mode=0o600,
                                  timeout=INSTALL_TIMEOUT, progress=progress)
        except SSHError as exc:
            raise NodeError(f"{self.label}: {exc}") from None

    def install(self, rke2_role: str) -> None:
        """RKE2's install.sh from the staged artifacts (it checks the sums again), then the installed mark."""
        self._sudo(["env", f"INSTALL_RKE2_ARTIFACT_PATH={STAGING}", f"INSTALL_RKE2_TYPE={rke2_role}",
                    "sh", f"{STAGING}/install.sh"], "RKE2's install.sh", INSTALL_TIMEOUT)
        self._sudo(["install", "-m", "0644", f"{STAGING}/{SUMS}", INSTALLED_MARK], "recording the installed release")

    # --- configuration ------------------------------------------------------------------------
    def write_private(self, text: str, path: str) -> None:
        """A root-owned 0600 file whose content never appears on a command line."""
        from installer.adapters.ssh import SSHError

        upload = f"{UPLOADS}/{PurePosixPath(path).name}"
        try:
            self.session.put_private(text.encode(), upload)
        except SSHError as exc:
            raise NodeError(f"{self.label}: {exc}") from None
        try:
            self._sudo(["install", "-D", "-m", "0600", "-o", "root", "-g", "root", upload, path], "installing " + path)
        finally:
            self._sudo(["rm", "-f", upload], "removing the uploaded copy of " + path)

    # --- service --------------------------------------------------------------------------------
    def start(self, rke2_role: str, restart: bool) -> None:
        unit = f"rke2-{rke2_role}"
        self._sudo(["systemctl", "enable", unit], f"enabling {unit}")
        self._sudo(["systemctl", "restart" if restart else "start", unit],
                   f"{'restarting' if restart else 'starting'} {unit}", START_TIMEOUT)

    def has_files(self, *paths: str) -> bool:
        script = " && ".join(f"test -s {shlex.quote(p)}" for p in paths) + " && echo yes || true"
        return self.run_as_root(script, "looking for " + ", ".join(paths)).strip() == "yes"

    def read_root_file(self, path: str) -> str:
        """A root-only file's content (the token or rke2.yaml): it travels in the SSH channel's output only."""
        return self._sudo(["cat", path], "reading " + path)
