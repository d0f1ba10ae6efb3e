"""Terraform's working folder inside the install's state directory, and the environment it runs with.

<state dir>/terraform/
  work/              a copy of the stack's files (the operator's stack folder is never written to),
                     plus installer_backend.tf; Terraform's .terraform/ and lock file stay here
  terraform.tfstate  the local backend's state (0600: Terraform runs with umask 077)
  cli.tfrc           the CLI configuration: with a provider mirror, a filesystem_mirror and nothing
                     else, so `init` never reaches the network
  home/              HOME for Terraform and its providers (nothing read from the operator's home)
  logs/              each command's output (0600)
  terraform.lock     the lock that keeps two Terraform processes off one state
  apply.pending      written before an apply, removed after it: present at the start of a run, it
                     says the last apply was cut off, so the run reconciles first
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.files import atomic_write

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "terraform"
IMPORTS_FILE = "imports.json"
BACKEND_FILE = "installer_backend.tf"
# Environment passed through to Terraform from the installer's own: locale, proxies and CA bundles, and
# provider settings that are not credentials (a region endpoint, a CA file). Nothing else: the
# installer's environment holds the secrets the answers reference.
PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy",
               "http_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "OS_CACERT", "AWS_CA_BUNDLE",
               "ARM_ENVIRONMENT", "AWS_ENDPOINT_URL")


def stack_digest(answers: Any) -> dict[str, str]:
    """The stack's files, so editing the stack reruns provision even when the answers did not change."""
    import hashlib

    root = stack_folder(answers)
    if not root.is_dir():
        return {"stack": "absent"}
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".terraform" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return {"stack": digest.hexdigest()[:16]}


def stack_folder(answers: Any) -> Path:
    target = answers.target
    return Path(target.terraform.stack) if target.terraform.stack else ASSETS / target.kind


@dataclass
class Workspace:
    root: Path

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    @property
    def state_file(self) -> Path:
        return self.root / "terraform.tfstate"

    @property
    def cli_config(self) -> Path:
        return self.root / "cli.tfrc"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def pending(self) -> Path:
        return self.root / "apply.pending"

    @property
    def plan_file(self) -> Path:
        return self.root / "plan.tfplan"

    @classmethod
    def at(cls, state_dir: Path) -> Workspace:
        return cls(Path(state_dir) / "terraform")

    def prepare(self, stack: Path, backend_kind: str, mirror: Path | None) -> None:
        """Copy the stack in (dropping files the stack no longer has), write the backend and the CLI config."""
        for folder in (self.root, self.workdir, self.home, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        keep = {".terraform", ".terraform.lock.hcl", BACKEND_FILE, "terraform.tfstate", "terraform.tfstate.backup"}
        wanted = set()
        for source in sorted(Path(stack).iterdir()):
            if source.name.startswith(".") or source.is_symlink():
                continue
            wanted.add(source.name)
            destination = self.workdir / source.name
            if source.is_dir():
                if destination.exists():
                    shutil.rmtree(destination)
                shutil.copytree(source, destination, symlinks=False)
            elif source.is_file():
                shutil.copyfile(source, destination)
        for existing in self.workdir.iterdir():
            if existing.name not in wanted and existing.name not in keep:
                shutil.rmtree(existing) if existing.is_dir() else existing.unlink()
        if backend_kind == "local":
            backend = f'terraform {{\n  backend "local" {{\n    path = {json.dumps(str(self.state_file))}\n  }}\n}}\n'
        else:
            backend = f'terraform {{\n  backend "{backend_kind}" {{}}\n}}\n'
        atomic_write(self.workdir / BACKEND_FILE, backend, 0o600)
        atomic_write(self.cli_config, cli_config(mirror), 0o600)

    def imports(self, variables: dict[str, Any]) -> dict[str, str]:
        """The stack's imports.json (address -> import id with {variable} placeholders), filled in."""
        path = self.workdir / IMPORTS_FILE
        if not path.is_file():
            return {}
        try:
            table = json.loads(path.read_text())
        except ValueError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from None
        filled = {}
        for address, template in table.items():
            value = str(template)
            for name, variable in variables.items():
                if isinstance(variable, (str, int, float)) and not isinstance(variable, bool):
                    value = value.replace("{" + name + "}", str(variable))
            filled[str(address)] = value
        return filled

    def environment(self, stack_env: dict[str, str]) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update({
            "HOME": str(self.home),
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
        })
        env.update(stack_env)
        return env


def cli_config(mirror: Path | None) -> str:
    """Only the filesystem mirror when one is given (no `direct` block: Terraform never asks a registry)."""
    if mirror is None:
        return "# providers: Terraform's default installation (a registry over the network)\n"
    return ("provider_installation {\n"
            "  filesystem_mirror {\n"
            f"    path = {json.dumps(str(mirror))}\n"
            "  }\n"
            "}\n")
