"""The secret values a plan needs: answers references first, the secret store for generated ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from installer import redact
from installer.answers import SecretUnavailable
from installer.plan.graph import PlanError
from installer.plan.values import Secrets
from installer.secretstore import generated_keys

PLACEHOLDER_SECRET = "placeholder-not-a-secret"


def _resolve(answers: Any, ref: Any, key: str, placeholders: bool = False) -> str | None:
    try:
        value: str | None = answers.secret(ref)
    except SecretUnavailable as exc:
        if placeholders:
            return PLACEHOLDER_SECRET
        raise PlanError(f"{key}: {exc}", key=key) from None
    return value


def resolve_secrets(answers: Any, store: Any, placeholders: bool = False) -> tuple[Secrets, list[str]]:
    """Every secret the plan needs: answers references first, the secret store for generated ones.

    With `placeholders`, a reference that cannot be resolved here (an air-gap bundle is built on
    another machine than the site's) renders with a placeholder: image names never depend on it.
    """
    values: dict[str, str] = {}
    db = answers.database
    for key, ref in (("database.password", getattr(db, "password", None)),
                     ("database.flyway_password", getattr(db, "flyway_password", None)),
                     ("config_repos.ssh_key", answers.config_repos.ssh_key),
                     ("registry.password", answers.registry.password if answers.registry else None),
                     ("domain.tls.key", getattr(answers.domain.tls, "key", None))):
        value = _resolve(answers, ref, key, placeholders) if ref is not None else None
        if value:
            values[key] = value
    known_hosts = answers.config_repos.known_hosts
    if known_hosts is not None:
        try:
            values["config_repos.known_hosts"] = Path(known_hosts).read_text(encoding="utf-8")
        except OSError as exc:
            raise PlanError(f"config_repos.known_hosts: {known_hosts}: {exc.strerror}",
                            key="config_repos.known_hosts") from None
    for key in answers.credentials.model_dump():
        ref_obj = getattr(answers.credentials, key)
        if ref_obj is not None and not ref_obj.generate:
            value = _resolve(answers, ref_obj, f"credentials.{key}", placeholders)
            if value:
                values[f"credentials.{key}"] = value
    wanted = generated_keys(answers)
    generated: list[str] = []
    if wanted:
        stored, generated = store.ensure(wanted)
        values.update(stored)
    for value in values.values():
        redact.register(value)
    return Secrets(values), generated
