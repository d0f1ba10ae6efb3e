"""The pipeline's database step: an external or managed PostgreSQL gets DIGIT's database and users."""
from __future__ import annotations

from typing import Any

from installer.answers import Answers
from installer.deploy.database import DatabaseBootstrapError, DatabaseTarget, bootstrap_database
from installer.engine import StepContext, StepFailed
from installer.plan.provisioned import provisioned_database
from installer.secretstore import get as stored_secret


def database_target(ctx: StepContext[Answers]) -> DatabaseTarget | None:
    """The database DIGIT uses, as the answers (or the provision step) give it; None for an in-cluster one."""
    answers = ctx.answers
    db = answers.database
    if db.mode == "in-cluster":
        return None
    if db.mode == "managed":
        provisioned = provisioned_database(ctx.outputs)
        if provisioned is None:
            raise StepFailed("the managed database's endpoint is unknown: the provision step recorded none",
                             remediation="run the provision step first (./install.sh --answers FILE --resume)")
        password = answers.secret(db.password) or stored_secret(ctx, "database.password")
        return DatabaseTarget(host=provisioned.host, port=provisioned.port, name=provisioned.name,
                              username=provisioned.username, password=password or "",
                              flyway_username=provisioned.username, flyway_password=password,
                              sslmode=db.sslmode)
    password = answers.secret(db.password)
    flyway_password = answers.secret(db.flyway_password) if db.flyway_password is not None else password
    admin_password = answers.secret(db.admin_password) if db.admin_password is not None else None
    return DatabaseTarget(host=db.host, port=db.port, name=db.name, username=db.username,
                          password=password or "", flyway_username=db.flyway_username or db.username,
                          flyway_password=flyway_password, sslmode=db.sslmode,
                          admin_username=db.admin_username, admin_password=admin_password)


def database(ctx: StepContext[Answers]) -> dict[str, Any]:
    """External and managed databases: create the database and the Flyway user when missing."""
    answers = ctx.answers
    db = answers.database
    target = database_target(ctx)
    if target is None:
        ctx.log("in-cluster PostgreSQL: the postgresql release comes with the backbone wave of deploy")
        return {"mode": "in-cluster", "name": db.name, "host": "postgresql.backbone", "port": 5432}
    ctx.progress(0, 1, "database", f"{target.host}:{target.port}/{target.name}")
    try:
        result = bootstrap_database(target, dry_run=ctx.dry_run)
    except DatabaseBootstrapError as error:
        raise StepFailed(str(error), remediation=error.remediation) from None
    for action in result.actions:
        ctx.log(("would " if ctx.dry_run else "") + action)
    if not result.actions:
        ctx.log(f"database {target.name} and its users already exist; nothing to do")
    ctx.progress(1, 1, "database", "ready")
    return {"mode": db.mode, "host": target.host, "port": target.port, "name": target.name,
            "username": target.username, "flyway_username": target.flyway_username, **result.to_dict()}
