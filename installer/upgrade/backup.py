"""The upgrade-backup step: DIGIT's database and every release's current revision, before anything changes.

The dump (pg_dump -Fc) is kept in <backup folder>/<date and time>/ (backup.path of the answers, else the
state directory's backups/) with its sha256 and checked by listing it (pg_restore -l); beside it, Helm's
values (what the installer gave the release: secrets among them), manifest and labels of each release's
current revision, every file 0600 in 0700 folders. After this step the upgrade passes the point of no
return: a migration image that has run cannot be undone by a Helm rollback; the closing lines of the
upgrade say how to go back (going_back.restore_steps).

A backup appears only whole and verified: it is written into `<date and time>.partial/` (whose first
file, taking.json, names the install it belongs to), every file synced, the dump checked, then the folder
is renamed in one step. A run killed before that leaves only a `.partial`: the next run removes the ones
of this install (never verified, so never data) and backs up again; a complete backup an interrupted run
made for these same inputs, with nothing changed since, is reused rather than taken again. Nothing else
in the backup folder is ever deleted.
"""
from __future__ import annotations

import hashlib
import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer.engine import Step, StepContext, StepFailed
from installer.files import atomic_write
from installer.upgrade.checks import backup_dir
from installer.upgrade.going_back import HELM_DRIVER_ENV, access_record, restore_command

PARTIAL = ".partial"
MARKER = "taking.json"   # the first file of a backup being taken: whose it is
ABANDONED_AFTER = 600.0  # seconds: an empty .partial this old was left by a run killed before its first file
RECORD = "backup.json"   # the last file: what the backup holds (the step's outputs)
# Steps that read and never change the cluster or the database: a complete backup stays good while only
# these have run since it was taken.
READ_ONLY_STEPS = frozenset({"validate", "upgrade-plan", "upgrade-checks", "images", "upgrade-backup"})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sync(path: Path) -> None:
    """fsync a file or a folder: what the rename publishes is on disk before the name is."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def inputs_digest(step: Step, answers: Any) -> str:
    """The digest of what a step reads, as the engine computes it to decide whether the step reruns."""
    from installer.engine.digest import combine, step_inputs

    return combine(step_inputs(step, answers))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_ours(data: dict[str, Any] | None, ctx: StepContext[Answers]) -> bool:
    return (data is not None and data.get("install") == ctx.answers.name
            and data.get("state_dir") == str(Path(ctx.state_dir).absolute()))


def _changed_since(ctx: StepContext[Answers], since: float) -> list[str]:
    """The steps of the journal, other than the read-only ones before the backup, that started after `since`:
    what may have changed the cluster or the database after a backup was taken."""
    from installer.engine import journal as jr

    try:
        journal = jr.Journal.load(ctx.state_dir, running_is_dead=False)
    except jr.JournalError:
        return ["(the journal cannot be read)"]
    return [r.id for r in journal.steps.values()
            if r.id not in READ_ONLY_STEPS and r.started is not None and r.started >= since]


def reusable_backup(ctx: StepContext[Answers], root: Path, digest: str) -> dict[str, Any] | None:
    """The newest complete backup of this install taken for these same inputs, when nothing that changes the
    cluster or the database has run since it began (a run killed between the rename and the journal's record
    of success); None otherwise."""
    found: list[dict[str, Any]] = []
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.name.endswith(PARTIAL) or folder.is_symlink() or not folder.is_dir():
            continue
        data = _read_json(folder / RECORD)
        if (data is None or not _is_ours(data, ctx) or data.get("digest") != digest or not data.get("verified")
                or data.get("folder") != str(folder)):
            continue
        if data.get("dump") and not Path(data["dump"]).is_file():
            continue
        found.append(data)
    if not found:
        return None
    newest = max(found, key=lambda d: float(d.get("started") or 0))
    if _changed_since(ctx, float(newest.get("started") or 0)):
        return None
    dump = newest.get("dump")
    if dump and sha256_of(Path(dump)) != newest.get("sha256"):
        return None
    return newest


def remove_our_partials(ctx: StepContext[Answers], root: Path) -> list[Path]:
    """Remove what an interrupted backup of this install left: `<name>.partial` folders whose taking.json names
    this install and state directory. They were never verified, so they hold no backup; anything else is left
    alone (another install's backup being taken in a shared folder among it).

    A run killed between making its folder and writing taking.json leaves an empty `.partial` that names no
    one: it holds nothing, and once older than any run takes to write its first file it is removed too
    (rmdir, which refuses a folder with anything in it)."""
    removed: list[Path] = []
    for folder in root.iterdir() if root.is_dir() else ():
        if not folder.name.endswith(PARTIAL) or folder.is_symlink() or not folder.is_dir():
            continue
        if _is_ours(_read_json(folder / MARKER), ctx):
            shutil.rmtree(folder)
            removed.append(folder)
        elif _empty_and_abandoned(folder):
            with contextlib.suppress(OSError):  # something was written into it meanwhile: not abandoned
                folder.rmdir()
                removed.append(folder)
    if removed:
        _sync(root)
    return removed


def _empty_and_abandoned(folder: Path) -> bool:
    try:
        return not any(folder.iterdir()) and time.time() - folder.stat().st_mtime > ABANDONED_AFTER
    except OSError:
        return False


def _new_folders(root: Path) -> tuple[Path, Path]:
    """(the partial folder, made 0700, and the name it takes once complete): named by the time, unused."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for count in range(1, 100):
        name = stamp if count == 1 else f"{stamp}-{count}"
        final, partial = root / name, root / f"{name}{PARTIAL}"
        if final.exists() or final.is_symlink():
            continue
        try:
            partial.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(partial, 0o700)
        return partial, final
    raise StepFailed(f"no free name for a backup folder in {root} for {stamp}",
                     remediation="wait a second and rerun the upgrade")


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


def upgrade_backup(ctx: StepContext[Answers]) -> dict[str, Any]:
    from installer.deploy.database_step import database_target
    from installer.plan.provisioned import kube_access

    root = backup_dir(ctx.answers, ctx.state_dir).absolute()
    digest = inputs_digest(ctx.step, ctx.answers)
    for folder in remove_our_partials(ctx, root):
        ctx.log(f"removed {folder}: an interrupted backup of this install, never verified")
    kept = reusable_backup(ctx, root, digest)
    if kept is not None:
        ctx.log(f"reusing the complete, verified backup {kept['folder']} an interrupted run of this upgrade took "
                "(nothing has changed since it began)")
        return kept
    started = time.time()
    partial, final = _new_folders(root)
    out: dict[str, Any] = {"folder": str(final), "install": ctx.answers.name,
                           "state_dir": str(Path(ctx.state_dir).absolute()), "digest": digest, "started": started}
    _write_private(partial / MARKER, json.dumps({k: out[k] for k in ("install", "state_dir", "digest", "started")},
                                                indent=2) + "\n")
    try:
        target = database_target(ctx)
        kubeconfig, context = kube_access(ctx)
        out["access"] = access_record(ctx.answers, ctx.state_dir, kubeconfig, context, target,
                                      {HELM_DRIVER_ENV: os.environ.get(HELM_DRIVER_ENV, "")})
        out.update(_dump(ctx, target, partial, final))
        if out.get("dump"):
            out["restore"] = restore_command(Path(out["dump"]), out["access"])
        ctx.progress(2, 4, "phases", "Helm revisions")
        out.update(_releases(ctx, partial))
        out.update(_planned_changes(ctx, partial))
        out["verified"] = True
        out["finished"] = time.time()
        atomic_write(partial / RECORD, json.dumps(out, indent=2, sort_keys=True))
        ctx.progress(3, 4, "phases", f"verified; keeping it as {final.name}")
        for folder in (partial / "releases", partial):
            if folder.is_dir():
                _sync(folder)
        os.rename(partial, final)
        _sync(root)
    except BaseException:
        # Cancelled or failed: what was written is not a backup. kill -9 leaves it for the next run to remove.
        shutil.rmtree(partial, ignore_errors=True)
        raise
    ctx.progress(4, 4, "phases", "done")
    ctx.log("point of no return: from here on, migrations may run; going back means rolling back the releases "
            "and restoring this backup")
    return out


def _dump(ctx: StepContext[Answers], target: Any, partial: Path, final: Path) -> dict[str, Any]:
    """pg_dump into the partial folder, its sha256 and listing; the paths it will have once kept."""
    from installer.adapters import pgdump

    if target is None:
        ctx.log("in-cluster database: back it up with its chart's own means; the releases are saved below",
                level="warning")
        ctx.progress(0, 4, "phases", "no database to dump")
        return {}
    dump = partial / f"{target.name}.dump"
    ctx.progress(0, 4, "phases", f"pg_dump of {target.name}")
    try:
        pgdump.dump(pgdump.Connection(target.host, target.port, target.username, target.password, target.name,
                                      target.sslmode), dump)
        _sync(dump)
        ctx.progress(1, 4, "phases", "sha256 and pg_restore -l")
        checksum = sha256_of(dump)
        entries = pgdump.contents(dump)
    except pgdump.DumpError as error:
        raise StepFailed(f"the database backup failed: {error}",
                         remediation="fix the cause, then rerun the upgrade; nothing was changed") from None
    tables = [e for e in entries if " TABLE " in e and " TABLE DATA " not in e]
    _write_private(partial / f"{dump.name}.sha256", f"{checksum}  {dump.name}\n")
    kept = final / dump.name
    ctx.log(f"database backup {kept} ({dump.stat().st_size} bytes, sha256 {checksum[:16]}..., "
            f"{len(tables)} tables listed by pg_restore -l)")
    return {"dump": str(kept), "sha256": checksum, "tables": len(tables), "entries": len(entries)}


def _releases(ctx: StepContext[Answers], partial: Path) -> dict[str, Any]:
    """Helm's manifest, values and labels of every release of this install at its current revision."""
    from installer.deploy import digests
    from installer.deploy.helmops import EngineOperations
    from installer.deploy.target import open_cluster

    cluster = open_cluster(ctx)
    saved: dict[str, int] = {}
    namespaces: dict[str, str] = {}
    try:
        releases = partial / "releases"
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
    return {"releases": saved, "release_namespaces": namespaces}
