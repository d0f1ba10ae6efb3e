"""The upgrade-checks step: what must hold before an upgrade changes anything.

No release of this install stuck in `pending-*` (a client that died mid-operation; Helm refuses to
act on it), every node Ready, the database reachable at a version the target's Flyway accepts, no
Flyway history table with a failed row (a failed migration blocks every later one), and room for
the backup. Images in the mirror are the bundle's `images` step, run beside this one.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from installer.deploy import digests
from installer.engine import StepContext, StepFailed

RECOVER_FLAG = "--recover-pending"
# Flyway 9 (DIGIT 2.9's services) needs PostgreSQL 11 or later.
MIN_POSTGRES = 11
BACKUP_MARGIN = 1.5  # a custom-format dump is smaller than the database; leave room anyway


def backup_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "backups"


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
    bad = []
    for node in api.list("Node"):
        conditions = {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}
        if conditions.get("Ready") != "True":
            bad.append(f"{node['metadata']['name']} (Ready={conditions.get('Ready', 'unknown')})")
    return bad


def database_facts(ctx: StepContext) -> dict[str, Any] | None:
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


def upgrade_checks(ctx: StepContext, recover_pending: bool = False) -> dict[str, Any]:
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
        if facts["version_num"] < MIN_POSTGRES * 10000:
            problems.append(f"PostgreSQL {facts['version']} at {facts['where']} is older than {MIN_POSTGRES}, which "
                            "the target's Flyway needs")
        for table, version, description, script in facts["flyway_failures"]:
            problems.append(f"Flyway history table {table} has a failed migration: version {version or '-'} "
                            f"'{description}' ({script}); repair it (fix the migration's effects, then delete that "
                            "row or run flyway repair) before upgrading")
        folder = backup_dir(ctx.state_dir)
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if free < facts["size"] * BACKUP_MARGIN:
            problems.append(f"{folder} has {free // 2**20} MiB free; the backup of a {facts['size'] // 2**20} MiB "
                            "database needs more")
    if problems:
        raise StepFailed("the upgrade cannot start:\n" + "\n".join(f"- {p}" for p in problems),
                         remediation="fix each line above, then rerun the upgrade; nothing was changed"
                                     + (" except the recovered releases" if recovered else ""),
                         details={"problems": problems})
    return {"recovered": recovered, "postgres": facts["version"] if facts else "in-cluster",
            "database_bytes": facts["size"] if facts else None}
