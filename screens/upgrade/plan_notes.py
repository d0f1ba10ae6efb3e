"""What the plan page and line mode say around the plan itself: what blocks it, what must be adopted, the
point of no return. Read from upgrade-plan.json's dict; free of textual (line mode uses it)."""
from __future__ import annotations

from typing import Any

from installer.upgrade.checks import RECOVER_FLAG
from installer.upgrade.plan_step import ACCEPT_IMMUTABLE_FLAG, ADOPT_FLAG, pin_warning

# The operator's named choices, in the same words in the wizard (its boxes) and in line mode (its questions).
# One line each at 80 columns: what the operator confirms is read whole (the lines above it say the rest).
RECREATE_LABEL = f"I did the above: let Helm make them again ({ACCEPT_IMMUTABLE_FLAG})"
ADOPT_LABEL = f"Adopt them into their releases; nothing is deleted ({ADOPT_FLAG})"
RECOVER_LABEL = f"Roll them back to their last deployed revision ({RECOVER_FLAG})"


def migration_releases(plan: dict[str, Any]) -> list[str]:
    return [r["name"] for r in plan.get("releases") or [] if r.get("migration_images")]


def immutable_changes(plan: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(release, finding) for each change Kubernetes refuses in place."""
    return [(r["name"], f) for r in plan.get("releases") or [] for f in r.get("immutable") or []]


def point_of_no_return(plan: dict[str, Any], where: str) -> str:
    """Where the point of no return is (`where`: the face's name for the backup) and what passing it means;
    '' when the plan runs no migration."""
    if not plan.get("needs_backup"):
        return ""
    migrations = migration_releases(plan)
    return (f"⚠ Point of no return: {where}, then migrations run with the new images"
            + (f" ({', '.join(migrations)})" if migrations else "")
            + "; going back after that means restoring the database backup as well as rolling back the releases.")


def blocking_text(plan: dict[str, Any], failed: str) -> str:
    """Why the upgrade cannot go on (`failed`: the plan's own refusal), or the immutable changes that stop it
    until the operator confirms, with what to do first."""
    lines = []
    if failed:
        lines.append("✗ The upgrade cannot go on as it stands; nothing was changed:")
        lines.append(failed)
    immutable = immutable_changes(plan)
    if immutable and not failed:
        lines.append("✗ Kubernetes refuses these changes in place; the upgrade stops here until you confirm:")
        lines += [f"  {name}: {f['object']} {f['field']}" for name, f in immutable]
        lines.append("  What to do first: delete each object named keeping its pods and claims (kubectl delete "
                     "statefulset NAME --cascade=orphan), grow its claims where the plan says so (an expandable "
                     "StorageClass), then confirm below so Helm makes them again.")
    return "\n".join(lines)


def unowned_text(plan: dict[str, Any], failed: str) -> str:
    """The objects applied without Helm that must be adopted before Helm takes them."""
    unowned = plan.get("unowned") or []
    if not unowned or failed:
        return ""
    lines = [f"{len(unowned)} object(s) were applied without Helm (egov-deployer); Helm refuses them unless "
             "they are adopted:"]
    lines += [f"  {o['kind']}/{o['namespace']}/{o['name']} → release {o['release']}" for o in unowned[:10]]
    if len(unowned) > 10:
        lines.append(f"  and {len(unowned) - 10} more (upgrade-plan.json lists them)")
    return "\n".join(lines)


def pending_lines(plan: dict[str, Any], offer: str) -> list[str]:
    """Each release stuck pending-* and what is offered for it (`offer`: the face's words)."""
    return [f"pending: {s['namespace']}/{s['release']} is {s['status']} at revision {s['revision']}; {offer}"
            for s in plan.get("pending") or []]


def changes_nothing(plan: dict[str, Any]) -> bool:
    return not [r for r in plan.get("releases") or [] if r.get("action") != "unchanged"] and not plan.get("unowned")


def pin_lines(plan: dict[str, Any]) -> list[str]:
    """Images the target profile pins that its charts render at another tag: it would not install them."""
    return ["⚠ " + pin_warning(str(plan.get("to_profile")), pinned, list(rendered))
            for pinned, rendered in plan.get("pins_not_rendered") or []]
