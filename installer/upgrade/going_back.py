"""How to go back to where an upgrade started: the commands, as this install's own access needs them.

Helm's and pg_restore's defaults (the current kube context, Helm's secret storage, a local database)
are rarely this install's: each command names the kubeconfig and context the answers (or provisioning)
give, the release's namespace, Helm's storage when it is not the default, and the database's host, port,
user, name and SSL mode. Passwords never appear: each command reads the password where the answers say
it lives (an environment variable, a file, the generated-secrets file of the state directory), through
the shell, when the operator runs it. The backup step records these pieces with its outputs
(`access_record`); `restore_steps` turns them and the backup into the numbered lines the closing block
and the wizard's Backup page show, every command alone on its line so it can be copied as it is.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

HELM_DRIVER_ENV = "HELM_DRIVER"
HELM_SQL_DSN_ENV = "HELM_DRIVER_SQL_CONNECTION_STRING"


def _password_source(ref: Any, base_dir: Path, state_dir: Path) -> tuple[str, str]:
    """(shell words that set PGPASSWORD, where the password comes from in words) for a secret reference."""
    from installer.secretstore import STATE_FILE

    if ref is None:
        return "", "no password in the answers: pg_restore asks for one or reads ~/.pgpass"
    if getattr(ref, "env", None):
        return f'PGPASSWORD="${ref.env}"', f"PGPASSWORD from the environment variable {ref.env}, as for the install"
    path = ref.path(base_dir) if getattr(ref, "file", None) else None
    if path is not None:
        return (f'PGPASSWORD="$(cat {shlex.quote(str(path))})"',
                f"PGPASSWORD from the file {path} the answers name, as for the install")
    store = Path(state_dir).absolute() / STATE_FILE
    reader = "import json,sys; print(json.load(open(sys.argv[1]))['values'][sys.argv[2]])"
    return (f"PGPASSWORD=\"$(python3 -c {shlex.quote(reader)} {shlex.quote(str(store))} database.password)\"",
            f"PGPASSWORD from the generated secret database.password in {store} (0600; also in the cluster's "
            "Secret digit-installer-generated, namespace digit-installer)")


def access_record(answers: Any, state_dir: Path, kubeconfig: Path | None, context: str | None,
                  database: Any | None, helm_env: dict[str, str]) -> dict[str, Any]:
    """What the going-back commands need, without any secret: kept with the backup's outputs.

    database is the DatabaseTarget the dump was taken from (None for an in-cluster one); helm_env the
    environment the upgrade's Helm storage was chosen from (HELM_DRIVER, as Helm's CLI reads it)."""
    helm = []
    driver = helm_env.get(HELM_DRIVER_ENV) or ""
    if driver and driver != "secret":
        helm.append(f"{HELM_DRIVER_ENV}={shlex.quote(driver)}")
    flags = []
    if kubeconfig is not None:
        flags += ["--kubeconfig", shlex.quote(str(Path(kubeconfig).absolute()))]
    if context:
        flags += ["--kube-context", shlex.quote(context)]
    record: dict[str, Any] = {"helm_env": " ".join(helm), "helm_flags": " ".join(flags)}
    if driver == "sql":
        record["helm_note"] = (f"Helm keeps this install's release records in SQL: export {HELM_SQL_DSN_ENV} as for "
                               "the upgrade first (it holds a password: not printed)")
    if database is not None:
        setter, source = _password_source(getattr(answers.database, "password", None), answers.base_dir, state_dir)
        env = [setter] if setter else []
        if database.sslmode and database.sslmode != "prefer":
            env.append(f"PGSSLMODE={shlex.quote(database.sslmode)}")
        record["pg_env"] = " ".join(env)
        record["pg_where"] = " ".join(["-h", shlex.quote(database.host), "-p", str(database.port), "-U",
                                       shlex.quote(database.username), "-d", shlex.quote(database.name)])
        record["password_from"] = source
    return record


def restore_command(dump: Path, access: dict[str, Any]) -> str:
    """pg_restore of the dump over the database it was taken from (objects in the dump dropped first)."""
    words = [access.get("pg_env") or "", "pg_restore --clean --if-exists --no-owner", access.get("pg_where") or "",
             shlex.quote(str(dump))]
    return " ".join(word for word in words if word)


def helm_command(verb: str, name: str, namespace: str, access: dict[str, Any], revision: int | None = None) -> str:
    words = [access.get("helm_env") or "", "helm", verb, shlex.quote(name),
             str(revision) if revision is not None else "", "-n", shlex.quote(namespace or "default"),
             access.get("helm_flags") or ""]
    return " ".join(word for word in words if word)


def restore_steps(backup: dict[str, Any]) -> list[str]:
    """How to go back to where the upgrade started, from the backup step's outputs: roll back each release
    the upgrade changes to its saved revision, uninstall those it adds (the old images are running again,
    so no new migration reruns), then restore the database. Each command is alone on its line."""
    folder = Path(backup["folder"])
    access: dict[str, Any] = backup.get("access") or {}
    lines = [f"Backup taken before the point of no return: {folder}"]
    if backup.get("dump"):
        lines.append(f"  database dump {backup['dump']} (sha256 {backup.get('sha256')})")
    releases: dict[str, int] = backup.get("releases") or {}
    if releases:
        lines.append(f"  Helm values and manifest of {len(releases)} release(s) at their revision before the "
                     f"upgrade: {folder / 'releases'} (0600: they hold secrets)")
    lines.append("To go back to where the upgrade started:")
    if access.get("helm_note"):
        lines.append(f"  ({access['helm_note']})")
    step = 1
    namespaces: dict[str, str] = backup.get("release_namespaces") or {}
    upgrading: dict[str, str] = backup.get("upgrading", {name: namespaces.get(name, "") for name in releases})
    for name in sorted(n for n in upgrading if n in releases):
        namespace = namespaces.get(name) or upgrading[name]
        lines.append(f"  {step}. roll {name} back to revision {releases[name]}:")
        lines.append(f"     {helm_command('rollback', name, namespace, access, releases[name])}")
        step += 1
    for name, namespace in sorted((backup.get("adding") or {}).items()):
        lines.append(f"  {step}. uninstall {name} (added by the upgrade):")
        lines.append(f"     {helm_command('uninstall', name, namespace, access)}")
        step += 1
    if backup.get("dump"):
        restore = restore_command(Path(backup["dump"]), access) if access.get("pg_where") else backup.get("restore")
        lines.append(f"  {step}. restore the database ({access.get('password_from') or 'password from PGPASSFILE'}):")
        lines.append(f"     {restore}")
        lines.append("     (--clean drops and restores what the dump holds; tables the new migrations added stay: "
                     "drop them before upgrading again, or restore into an empty database)")
    return lines
