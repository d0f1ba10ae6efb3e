"""The upgrade-checks step: what must hold before an upgrade changes anything.

No release of this install stuck in `pending-*` (a client that died mid-operation; Helm refuses to
act on it), every node Ready, the database reachable at the version the target's Flyway needs (the
target profile's `postgres_min`), no Flyway history table with a failed row (a failed migration
blocks every later one), and room for the backup in its folder (backup.path of the answers, else
the state directory's backups/). Images in the mirror are the bundle's `images` step, run beside
this one. Every check reads; none writes, not even the backup folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from installer.answers import Answers
from installer.deploy import digests
from installer.engine import StepContext, StepFailed

RECOVER_FLAG = "--recover-pending"
BACKUP_MARGIN = 1.5  # a custom-format dump is smaller than the database; leave room anyway


def backup_dir(answers: Any, state_dir: Path) -> Path:
    """Where the upgrade's backups go: backup.path of the answers, else <state dir>/backups."""
    chosen = getattr(getattr(answers, "backup", None), "path", None)
    return Path(chosen) if chosen else Path(state_dir) / "backups"


def _existing_ancestor(folder: Path) -> Path:
    """The folder itself or the nearest parent that exists: where its files would take their space."""
    here = Path(os.path.abspath(folder))
    while not here.exists() and here != here.parent:
        here = here.parent
    return here


def backup_room_problem(folder: Path, database_bytes: int) -> str | None:
    """Why a backup of a database this size cannot be written into folder, or None."""
    where = _existing_ancestor(folder)
    if not where.is_dir():
        return f"the backup folder {folder} cannot be made: {where} is not a folder (set backup.path in the answers)"
    if not os.access(where, os.W_OK | os.X_OK):
        return f"the backup folder {folder} cannot be written by this user ({where} is not writable)"
    free = shutil.disk_usage(where).free
    needed = int(database_bytes * BACKUP_MARGIN)
    if free < needed:
        return (f"the backup folder {folder} has {free / 2**20:.1f} MiB free; the backup of the "
                f"{database_bytes / 2**20:.1f} MiB database needs {needed / 2**20:.1f} MiB: free space there or "
                "set backup.path in the answers to a folder with room")
    return None


def pending_releases(helm: Any, install: str) -> list[dict[str, Any]]:
    """Releases labelled with this install whose latest revision is pending-*, with their last good revision."""
    from installer.deploy.helmops import EngineOperations

    operations = EngineOperations(helm)
    stuck = []
    for info in helm.list(all_states=True):
        current = operations.current(info.name, info.namespace)
        if current is None or current.labels.get(digests.LABEL_INSTALL) != install:
            continue
        if current.status.startswith("pending-"):
            stuck.append({"release": info.name, "namespace": info.namespace, "status": current.status,
                          "revision": current.revision, "last_deployed": current.last_deployed_revision})
    return stuck


def _nodes_not_ready(api: Any) -> list[str]:
    """Each node whose Ready condition is not True, with the condition's status, reason and message."""
    bad = []
    for node in api.list("Node"):
        conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
        ready = conditions.get("Ready") or {}
        if ready.get("status") != "True":
            said = ": ".join(str(ready[k]) for k in ("reason", "message") if ready.get(k))
            bad.append(f"{node['metadata']['name']} (Ready={ready.get('status', 'unknown')}"
                       + (f", {said}" if said else "") + ")")
    return bad


def postgres_needed(ctx: StepContext[Answers]) -> int:
    """The PostgreSQL major version the target profile's Flyway needs (ctx.answers name the target)."""
    from installer.profiles import release_profile

    return release_profile(ctx.answers.release.version, ctx.answers.base_dir).postgres_min


def database_facts(ctx: StepContext[Answers]) -> dict[str, Any] | None:
    """Version, size and failed Flyway rows of DIGIT's database; None for an in-cluster database."""
    from installer.adapters.postgres import DatabaseError, connect
    from installer.deploy.database_step import database_target

    target = database_target(ctx)
    if target is None:
        return None
    try:
        with connect(target.host, target.port, target.username, target.password, dbname=target.name,
                     sslmode=target.sslmode) as session:
            return {"version_num": int(session.setting("server_version_num")),
                    "version": session.setting("server_version"), "size": session.database_size(target.name),
                    "flyway_failures": session.flyway_failures(), "where": f"{target.host}:{target.port}/{target.name}"}
    except DatabaseError as error:
        raise StepFailed(f"the database {target.host}:{target.port}/{target.name} cannot be read: {error}",
                         remediation="check database.* in the answers and that the server is up") from None


def upgrade_checks(ctx: StepContext[Answers], recover_pending: bool = False) -> dict[str, Any]:
    from installer.deploy.target import open_cluster

    problems: list[str] = []
    recovered: list[str] = []
    cluster = open_cluster(ctx)
    try:
        for stuck in pending_releases(cluster.helm, ctx.answers.name):
            where = f"{stuck['namespace']}/{stuck['release']}"
            if stuck["last_deployed"] is None:
                problems.append(f"{where} is {stuck['status']} and was never deployed: uninstall it first "
                                f"(./install.sh uninstall) or finish its install")
            elif recover_pending:
                cluster.helm.rollback(stuck["release"], namespace=stuck["namespace"], revision=stuck["last_deployed"])
                recovered.append(f"{where} rolled back to revision {stuck['last_deployed']}")
                ctx.log(recovered[-1])
            else:
                problems.append(f"{where} is {stuck['status']} at revision {stuck['revision']}: rerun with "
                                f"{RECOVER_FLAG} to roll it back to its last deployed revision {stuck['last_deployed']}")
        problems += [f"node {n} is not Ready" for n in _nodes_not_ready(cluster.api)]
    finally:
        cluster.helm.close()
    facts = database_facts(ctx)
    if facts is not None:
        needed = postgres_needed(ctx)
        if facts["version_num"] < needed * 10000:
            problems.append(f"PostgreSQL {facts['version']} at {facts['where']} is older than {needed}, which "
                            f"the Flyway of {ctx.answers.release.version} needs (its profile's postgres_min): "
                            "upgrade PostgreSQL first")
        for table, version, description, script in facts["flyway_failures"]:
            problems.append(f"Flyway history table {table} has a failed migration: version {version or '-'} "
                            f"'{description}' ({script}); repair it (fix the migration's effects, then delete that "
                            "row or run flyway repair) before upgrading")
        room = backup_room_problem(backup_dir(ctx.answers, ctx.state_dir), facts["size"])
        if room:
            problems.append(room)
    if problems:
        raise StepFailed("the upgrade cannot start:\n" + "\n".join(f"- {p}" for p in problems),
                         remediation="fix each line above, then rerun the upgrade; nothing was changed"
                                     + (" except the recovered releases" if recovered else ""),
                         details={"problems": problems})
    return {"recovered": recovered, "postgres": facts["version"] if facts else "in-cluster",
            "database_bytes": facts["size"] if facts else None}
