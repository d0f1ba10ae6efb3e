"""What can be checked on the jump host alone, where the mistake is made: `validate`, the wizard and preflight.

The models check the shape of a reference; these read what it points at, without touching the target:
a private key that is not one (a public key, a key cut to its first line), a TLS key that does not belong
to its certificate, a kubeconfig context that is not in the kubeconfig, an environment variable that is
not set. Messages name files and variables, never a secret's content.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from installer.answers.refs import SecretRef, SecretUnavailable, secret_refs
from installer.keys import PRIVATE_KEY_FIELDS, private_key_file_problem, private_key_problem

# (key path, message, severity "error" or "warning")
SpotProblem = tuple[str, str, str]


def private_key_problems(answers: Any, environ: Mapping[str, str] | None = None,
                         unreadable: bool = False) -> list[tuple[str, str]]:
    """(key path, problem) for every private key the answers reference that is not a usable private key.

    `validate` reports a file that does not exist and a variable that is not set where files and
    variables are (file_warnings, env_problems), so only a key that can be read is judged; preflight
    (`unreadable=True`) counts those as bad keys too, since the install would stop on them.
    """
    variables: Mapping[str, str] = os.environ if environ is None else environ
    found = []
    for key_path, ref in secret_refs(answers):
        if key_path not in PRIVATE_KEY_FIELDS:
            continue
        if ref.file is not None:
            path = ref.path(answers.base_dir)
            if path is None or (not path.is_file() and not unreadable):
                continue
            problem = private_key_file_problem(path)
        elif ref.env is not None and ref.env in variables:
            problem = private_key_problem(variables[ref.env])
            problem = f"environment variable {ref.env}: {problem}" if problem else None
        elif ref.env is not None and unreadable:
            problem = f"environment variable {ref.env} is not set"
        else:
            continue
        if problem:
            found.append((key_path, problem))
    return found


def env_problem(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the variable a reference names cannot be read now, or None: the one wording `validate` and the
    wizard's pages use."""
    variables: Mapping[str, str] = os.environ if environ is None else environ
    if name in variables:
        return None
    return f"environment variable {name} is not set (export it before the install runs)"


def env_problems(answers: Any, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(key path, message) for every {env: NAME} reference whose variable is not set now."""
    found = []
    for key_path, ref in secret_refs(answers):
        problem = env_problem(ref.env, environ) if ref.env is not None else None
        if problem:
            found.append((key_path, problem))
    return found


def tls_pair_problem(cert_path: Path, key_text: str | bytes) -> str | None:
    """Why the key does not belong to the certificate, or None (also None when either cannot be read:
    that is said elsewhere)."""
    from cryptography.hazmat.primitives import serialization

    from installer.tls import CertificateError, load_certificate

    try:
        cert = load_certificate(cert_path)
    except CertificateError:
        return None
    raw = key_text.encode() if isinstance(key_text, str) else key_text
    try:
        key = serialization.load_pem_private_key(raw.strip() + b"\n", password=None)
    except Exception:  # unparsable keys are private_key_problems' to report
        return None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, public):
        return f"the private key does not belong to the certificate {cert_path} (their public keys differ)"
    return None


def tls_problems(domain: Any, base_dir: Path, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """A provided TLS key that does not match its certificate (when both can be read)."""
    tls: Any = getattr(domain, "tls", None)
    if getattr(tls, "mode", None) != "provided":
        return []
    variables: Mapping[str, str] = os.environ if environ is None else environ
    ref: SecretRef = tls.key
    key_text: str | bytes
    try:
        if ref.file is not None:
            path = ref.path(base_dir)
            if path is None or not path.is_file():
                return []
            key_text = path.read_bytes()
        elif ref.env is not None and ref.env in variables:
            key_text = variables[ref.env]
        else:
            return []
    except OSError:
        return []
    if not Path(tls.cert).is_file():
        return []
    problem = tls_pair_problem(Path(tls.cert), key_text)
    return [("domain.tls.key", problem)] if problem else []


def kubeconfig_problems(target: Any) -> list[tuple[str, str]]:
    """An existing cluster's context that is not in its kubeconfig, or a kubeconfig that is not one."""
    if getattr(target, "kind", None) != "existing-cluster":
        return []
    path = Path(target.kubeconfig)
    if not path.is_file():
        return []  # "does not exist" is file_warnings'
    from installer.yamlio import load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return [("target.kubeconfig", f"{path} cannot be read: {type(exc).__name__}")]
    except Exception as exc:  # the YAML parser's own errors: the file is not YAML
        return [("target.kubeconfig", f"{path} is not a kubeconfig (not YAML: {type(exc).__name__})")]
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), list) or not data["contexts"]:
        return []  # a placeholder (written before the cluster exists): the cluster checks judge it when it is used
    names = [c.get("name") for c in data["contexts"] if isinstance(c, dict)]
    listed = ", ".join(str(n) for n in names) or "none"
    if target.context is not None:
        if target.context not in names:
            return [("target.context", f"context {target.context!r} is not in {path} (its contexts: {listed})")]
    elif not data.get("current-context"):
        return [("target.context", f"{path} sets no current-context; name one of its contexts: {listed}")]
    elif data.get("current-context") not in names:
        return [("target.context", f"{path}: its current-context {data.get('current-context')!r} is not one of "
                                   f"its contexts ({listed}); name one here")]
    return []


def spot_problems(answers: Any, environ: Mapping[str, str] | None = None) -> list[SpotProblem]:
    """Every on-the-spot problem of a valid answers file: errors, and unset variables as warnings."""
    found: list[SpotProblem] = []
    found += [(k, m, "error") for k, m in private_key_problems(answers, environ)]
    found += [(k, m, "error") for k, m in tls_problems(answers.domain, answers.base_dir, environ)]
    found += [(k, m, "error") for k, m in kubeconfig_problems(answers.target)]
    found += [(k, m, "warning") for k, m in env_problems(answers, environ)]
    return found


__all__ = ["SecretUnavailable", "env_problem", "env_problems", "kubeconfig_problems", "private_key_problems", "spot_problems",
           "tls_pair_problem", "tls_problems"]
