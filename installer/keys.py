"""Is this text a private key? One answer for the wizard, `validate` and preflight.

A deploy key cut to its first line, a public key pasted where the private one
belongs, or a key locked with a passphrase all look like "a key" to a quick
glance and fail only when git-sync or SSH first uses them, deep into an
install. Parsing the key (with `cryptography`, which the installer already
needs) finds each of these where the mistake is made. The key's content is
never part of a message.
"""
from __future__ import annotations

from pathlib import Path

# answers keys (union tags left out, as the loader reports them) whose secret is a private key
PRIVATE_KEY_FIELDS = frozenset({"target.ssh.private_key", "config_repos.ssh_key", "domain.tls.key"})

_PUBLIC_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ", "ssh-dss ", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")


def private_key_problem(data: str | bytes) -> str | None:
    """Why `data` is not a usable private key (OpenSSH or PEM), or None when it is one."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    text = raw.strip()
    if not text:
        return "it is empty"
    if text.startswith(tuple(p.encode() for p in _PUBLIC_PREFIXES)) or b"PUBLIC KEY-----" in text[:64]:
        return "it is a public key; give the private key (the file without .pub)"
    if b"CERTIFICATE-----" in text[:64]:
        return "it is a certificate, not a private key"
    if not text.startswith(b"-----BEGIN ") or b"PRIVATE KEY-----" not in text[:64]:
        return "it is not a private key (it should start with -----BEGIN ... PRIVATE KEY-----)"
    end = text.rfind(b"-----END ")
    if end < 0 or not text.endswith(b"-----"):
        return "it is cut short: the -----END ... PRIVATE KEY----- line is missing (was only the first line pasted?)"
    from cryptography.hazmat.primitives import serialization

    loader = serialization.load_ssh_private_key if text.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----") \
        else serialization.load_pem_private_key
    try:
        loader(text + b"\n", password=None)
    except TypeError:
        return "it is protected by a passphrase; the installer needs a key it can use unattended"
    except (ValueError, IndexError) as exc:
        return f"it does not parse as a private key ({_short(exc)})"
    except Exception as exc:  # cryptography raises its own UnsupportedAlgorithm for odd keys
        return f"it does not parse as a private key ({type(exc).__name__})"
    return None


def private_key_file_problem(path: Path) -> str | None:
    """Why the file at `path` is not a usable private key, or None (the message names the file, never its content)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return f"{path} does not exist"
    except IsADirectoryError:
        return f"{path} is a folder, not a key file"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
    problem = private_key_problem(raw)
    return f"{path}: {problem}" if problem else None


def _short(exc: Exception) -> str:
    text = str(exc).split("\n")[0].strip() or type(exc).__name__
    return text[:80]
