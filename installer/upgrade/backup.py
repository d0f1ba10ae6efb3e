"""The upgrade-backup step: DIGIT's database and every release's current revision, before anything changes.

The dump (pg_dump -Fc) is kept in <backup folder>/<run>/ (backup.path of the answers, else the
state directory's backups/) with its sha256 and checked by listing it (pg_restore -l); beside it,
Helm's values (what the installer gave the release: secrets among them), manifest and labels of each
release's current revision, every file 0600 in 0700 folders. After this step the upgrade passes the
point of no return: a migration image that has run cannot be undone by a Helm rollback; the closing
lines of the upgrade say how to restore (`restore_steps`).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer.engine import StepContext, StepFailed
from installer.files import atomic_write
from installer.upgrade.checks import backup_dir


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def restore_command(dump: Path, answers: Any) -> str:
    db = answers.database
    return (f"pg_restore --clean --if-exists --no-owner -h {db.host} -p {db.port} -U {db.username} -d {db.name} "
            f"{dump}   (password from PGPASSFILE, never the command line)")


def _planned_changes(ctx: StepContext[Answers], folder: Path) -> dict[str, Any]:
    """What the upgrade this backup precedes changes (its plan, copied beside the backup): the releases
    it upgrades and those it adds, with their namespaces, so going back names exactly those."""
    plan_file = Path((ctx.outputs.get("upgrade-plan") or {}).get("plan") or Path(ctx.state_dir) / "upgrade-plan.json")
    try:
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    _write_private(folder / "upgrade-plan.json", json.dumps(plan, indent=2, sort_keys=True))
    by_action: dict[str, dict[str, str]] = {"upgrade": {}, "add": {}}
    for release in plan.get("releases") or []:
        if release.get("action") in by_action:
            by_action[release["action"]][str(release.get("name"))] = str(release.get("namespace") or "")
    return {"upgrading": by_action["upgrade"], "adding": by_action["add"]}


def restore_steps(backup: dict[str, Any]) -> list[str]:
    """How to go back to where the upgrade started, from the backup step's outputs: restore the
    database, roll back each release the upgrade changes to its saved revision, uninstall those it
    adds. For the closing lines of an upgrade."""
    folder = Path(backup["folder"])
    lines = [f"Backup taken before the point of no return: {folder}"]
    if backup.get("dump"):
        lines.append(f"  database dump {backup['dump']} (sha256 {backup.get('sha256')})")
    releases: dict[str, int] = backup.get("releases") or {}
    if releases:
        lines.append(f"  Helm values and manifest of {len(releases)} release(s) at their revision before the "
                     f"upgrade: {folder / 'releases'} (0600: they hold secrets)")
    lines.append("To go back to where the upgrade started:")
    step = 1
    if backup.get("restore"):
        lines.append(f"  {step}. restore the database: {backup['restore']}")
        step += 1
    namespaces: dict[str, str] = backup.get("release_namespaces") or {}
    upgrading: dict[str, str] = backup.get("upgrading", {name: namespaces.get(name, "") for name in releases})
    for name in sorted(n for n in upgrading if n in releases):
        lines.append(f"  {step}. helm rollback {name} {releases[name]} -n {namespaces.get(name) or upgrading[name]}")
        step += 1
    for name, namespace in sorted((backup.get("adding") or {}).items()):
        lines.append(f"  {step}. helm uninstall {name} -n {namespace}   (added by the upgrade)")
        step += 1
    return lines


def upgrade_backup(ctx: StepContext[Answers]) -> dict[str, Any]:
    from installer.adapters import pgdump
    from installer.deploy.database_step import database_target
    from installer.deploy.target import open_cluster

    folder = backup_dir(ctx.answers, ctx.state_dir) / time.strftime("%Y%m%dT%H%M%S")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    out: dict[str, Any] = {"folder": str(folder)}
    target = database_target(ctx)
    if target is not None:
        dump = folder / f"{target.name}.dump"
        ctx.progress(0, 3, "phases", f"pg_dump of {target.name}")
        try:
            pgdump.dump(pgdump.Connection(target.host, target.port, target.username, target.password, target.name,
                                          target.sslmode), dump)
            ctx.progress(1, 3, "phases", "sha256 and pg_restore -l")
            checksum = sha256_of(dump)
            entries = pgdump.contents(dump)
        except pgdump.DumpError as error:
            raise StepFailed(f"the database backup failed: {error}",
                             remediation="fix the cause, then rerun the upgrade; nothing was changed") from None
        tables = [e for e in entries if " TABLE " in e and " TABLE DATA " not in e]
        (folder / f"{dump.name}.sha256").write_text(f"{checksum}  {dump.name}\n")
        out.update(dump=str(dump), sha256=checksum, tables=len(tables), entries=len(entries),
                   restore=restore_command(dump, ctx.answers))
        ctx.log(f"database backup {dump} ({dump.stat().st_size} bytes, sha256 {checksum[:16]}..., "
                f"{len(tables)} tables listed by pg_restore -l)")
    else:
        ctx.log("in-cluster database: back it up with its chart's own means; the releases are saved below",
                level="warning")
    ctx.progress(2, 3, "phases", "Helm revisions")
    from installer.deploy import digests
    from installer.deploy.helmops import EngineOperations

    cluster = open_cluster(ctx)
    saved: dict[str, int] = {}
    namespaces: dict[str, str] = {}
    try:
        releases = folder / "releases"
        releases.mkdir(mode=0o700, exist_ok=True)
        operations = EngineOperations(cluster.helm)
        for info in cluster.helm.list(all_states=True):
            current = operations.current(info.name, info.namespace)
            if current is None or current.labels.get(digests.LABEL_INSTALL) != ctx.answers.name:
                continue
            record = cluster.helm.get(info.name, namespace=info.namespace)
            if record is None:
                continue
            # Manifests and values carry the release's Secrets: 0600 like every other file holding them.
            stem = f"{info.namespace}.{info.name}.r{record.revision}"
            _write_private(releases / f"{stem}.yaml", record.manifest or "")
            values = cluster.helm.values(info.name, namespace=info.namespace, revision=record.revision)
            # JSON is YAML: `helm upgrade -f FILE` reads it as it is.
            _write_private(releases / f"{stem}.values.yaml", json.dumps(values, indent=2, sort_keys=True) + "\n")
            _write_private(releases / f"{stem}.json",
                           json.dumps({"revision": record.revision, "status": record.status,
                                       "chart": f"{record.chart_name}-{record.chart_version}",
                                       "labels": current.labels}, indent=2))
            saved[info.name] = record.revision
            namespaces[info.name] = info.namespace
    finally:
        cluster.helm.close()
    ctx.progress(3, 3, "phases", "done")
    out["releases"] = saved
    out["release_namespaces"] = namespaces
    out.update(_planned_changes(ctx, folder))
    atomic_write(folder / "backup.json", json.dumps(out, indent=2, sort_keys=True))
    ctx.log("point of no return: from here on, migrations may run; going back means restoring this backup "
            "and rolling back the releases")
    return out
