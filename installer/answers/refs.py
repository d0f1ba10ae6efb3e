"""Secret references: an answers file names where a secret lives, never the secret.

Three forms are accepted: `{env: NAME}`, `{file: PATH}` (relative to the answers
file) and `{generate: true}` (the installer creates the value once and keeps it).
A literal value is refused with a message that says how to reference it.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from installer import redact
from installer.files import UnreadableFile, read_regular

LITERAL_SECRET_MESSAGE = (
    "a secret must be a reference, not a value: write {env: VARIABLE_NAME}, "
    "{file: path/relative/to/answers.yaml} or {generate: true}"
)
# A secret file holds a password, a key or a certificate bundle: far below this.
MAX_SECRET_BYTES = 1024 * 1024
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SecretUnavailable(Exception):
    """A referenced secret could not be read (variable unset, file missing)."""


class SecretRef(BaseModel):
    """Where a secret comes from: exactly one of env, file or generate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(default=None, description="Name of an environment variable holding the value.")
    file: str | None = Field(default=None, description="Path of a file holding the value, relative to the answers file.")
    generate: bool | None = Field(default=None, description="true: the installer creates the value once and reuses it.")

    @model_validator(mode="before")
    @classmethod
    def _refuse_literals(cls, value: Any) -> Any:
        if isinstance(value, (str, int, float, bytes)) and not isinstance(value, bool):
            raise ValueError(LITERAL_SECRET_MESSAGE)
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [name for name in ("env", "file", "generate") if getattr(self, name) not in (None, False)]
        if self.generate is False:
            raise ValueError("generate: false means nothing; write generate: true, or use env or file")
        if len(given) != 1:
            raise ValueError("give exactly one of env, file or generate")
        if self.env is not None and not _ENV_NAME.match(self.env):
            raise ValueError(f"env: {self.env!r} is not a valid environment variable name")
        if self.file is not None and not self.file.strip():
            raise ValueError("file: the path is empty")
        return self

    @property
    def kind(self) -> str:
        return "env" if self.env is not None else "file" if self.file is not None else "generate"

    def describe(self) -> str:
        """A safe, human description of the reference (never the value)."""
        if self.env is not None:
            return f"env:{self.env}"
        if self.file is not None:
            return f"file:{self.file}"
        return "generated"

    def path(self, base_dir: Path) -> Path | None:
        if self.file is None:
            return None
        from installer.answers.paths import safe_resolve

        return safe_resolve(base_dir / os.path.expanduser(self.file))

    def resolve(self, base_dir: Path, environ: Mapping[str, str] | None = None) -> str | None:
        """Read the value; None for generate (the secret store provides it)."""
        variables = os.environ if environ is None else environ
        if self.env is not None:
            if self.env not in variables:
                raise SecretUnavailable(f"environment variable {self.env} is not set")
            value = variables[self.env]
        elif self.file is not None:
            path = self.path(base_dir)
            assert path is not None  # self.file is set
            try:
                value = read_regular(path, MAX_SECRET_BYTES).decode("utf-8")
            except UnreadableFile as exc:
                reason = "does not exist" if str(exc) == "no such file" else f"cannot be read: {exc}"
                raise SecretUnavailable(f"file {path} {reason}") from None
            except UnicodeDecodeError:
                raise SecretUnavailable(f"file {path} cannot be read: not UTF-8 text") from None
            if not value.startswith("-----BEGIN"):
                value = value.rstrip("\r\n")
        else:
            return None
        redact.register(value)
        return value


def generate_ref() -> SecretRef:
    return SecretRef(generate=True)


def secret_refs(value: Any, path: str = "") -> list[tuple[str, SecretRef]]:
    """Every SecretRef inside an answers tree, with its dotted key path."""
    if isinstance(value, SecretRef):
        return [(path, value)]
    found: list[tuple[str, SecretRef]] = []
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += secret_refs(getattr(value, name, None), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            found += secret_refs(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += secret_refs(item, f"{path}[{index}]")
    return found


def unreadable_secrets(answers: Any) -> list[tuple[str, SecretRef, str]]:
    """Resolve every env/file reference (which registers its value for masking).

    Returns (key path, reference, problem) for each one that cannot be read; generated
    secrets are the secret store's and are left out.
    """
    problems = []
    for key_path, ref in secret_refs(answers):
        if ref.generate:
            continue
        try:
            answers.secret(ref)
        except SecretUnavailable as exc:
            problems.append((key_path, ref, str(exc)))
    return problems
