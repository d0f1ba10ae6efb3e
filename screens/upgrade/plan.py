"""The upgrade plan: what moving to the target changes, release by release, and what stops it.

The plan is the upgrade's own plan step run dry (as `upgrade --plan`): it reads Helm's records and
renders the target, changes nothing and writes upgrade-plan.json, which this page shows. Changes
Kubernetes refuses in place (immutable fields) and objects applied without Helm go on only after a
named confirmation here; a backbone swap or another install's release stops the upgrade outright.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, Static

from screens.widgets.confirm_box import ConfirmBox

from screens.base import BACK, NEXT, WizardScreen
from screens.upgrade.plan_notes import (ADOPT_LABEL, RECREATE_LABEL, blocking_text, changes_nothing,
                                        immutable_changes, pending_lines, pin_lines, point_of_no_return,
                                        unowned_text)
from screens.upgrade.state import PhaseRecorder, upgrade_state

ACTIONS = {"add": "+ add", "remove": "- remove", "upgrade": "~ upgrade"}


def short_image(image: str | None) -> str:
    """repository:tag without the registry (a mirror's prefix is not a change); '-' for none."""
    if not image:
        return "-"
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    return last + (f"@{digest[:19]}" if digest else "")


def _tag(image: str | None) -> str:
    text = short_image(image)
    return text.split(":", 1)[1] if ":" in text and "@" not in text else text


def release_lines(release: dict[str, Any]) -> list[tuple[str, str]]:
    """(style, line) for one release: what changes, flagged where it needs a backup or blocks."""
    lines: list[tuple[str, str]] = []
    action = release.get("action")
    if release.get("chart"):
        old, new = release["chart"]
        lines.append(("", f"chart {old} → {new}"))
    for image in release.get("images") or []:
        if action == "upgrade":
            lines.append(("", f"image {image['repository']}: {_tag(image.get('old'))} → {_tag(image.get('new'))}"))
        else:
            lines.append(("", f"image {short_image(image.get('new') or image.get('old'))}"))
        if image.get("migration"):
            lines.append(("bold yellow", "  ⚠ migration (Flyway): backup first"))
    if release.get("values_changed"):
        lines.append(("", "values changed"))
    changed = release.get("objects_changed") or []
    if action == "upgrade" and changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        lines.append(("dim", f"objects: {shown}"))
    for finding in release.get("immutable") or []:
        lines.append(("bold red", f"✗ blocks: {finding['object']} {finding['field']}: {finding['detail']}"))
    for finding in release.get("pvc_growth") or []:
        lines.append(("bold yellow", f"grow {finding['object']}: {finding['old']} → {finding['new']} "
                                     f"({finding['detail']})"))
    for crd in release.get("crds") or []:
        lines.append(("yellow", f"CRD {crd}"))
    for reason in release.get("blocked") or []:
        lines.append(("bold red", f"✗ blocks: {reason}"))
    if action == "remove" and not release.get("blocked"):
        lines.append(("dim", "left installed: the upgrade removes nothing (uninstall it once it is not needed)"))
    return lines


def changes_table(plan: dict[str, Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
    table.add_column("release", no_wrap=True)
    table.add_column("change", no_wrap=True)
    table.add_column("what changes", ratio=1, overflow="fold")
    for release in plan.get("releases") or []:
        if release.get("action") == "unchanged":
            continue
        details = Text()
        for index, (style, line) in enumerate(release_lines(release)):
            details.append(("\n" if index else "") + line, style=style or None)
        blocked = bool(release.get("blocked") or release.get("immutable"))
        action = Text(ACTIONS.get(release["action"], release["action"]), style="bold red" if blocked else "")
        table.add_row(Text(release["name"]), action, details)
    return table


def headline(plan: dict[str, Any]) -> str:
    counts = [f"{len(plan.get(key) or [])} {word}" for key, word in
              (("added", "to add"), ("upgraded", "to upgrade"), ("removed", "left out of the target"),
               ("unchanged", "unchanged")) if plan.get(key)]
    return (f"{plan.get('from_profile')} ({plan.get('from_commit') or 'commit unknown'}) → {plan.get('to_profile')} "
            f"({plan.get('to_commit') or 'commit unknown'})\n" + (", ".join(counts) or "no releases"))


class UpgradePlanScreen(WizardScreen):
    PAGE = "upgrade-plan"
    TITLE_TEXT = "Upgrade plan"
    NEXT_LABEL = "Checks"
    INTRO = "What the upgrade changes, read from Helm's records and the target's render. Nothing has changed yet."
    DEFAULT_CSS = """
    UpgradePlanScreen #plan-headline { text-style: bold; }
    UpgradePlanScreen #plan-blocking { color: $error; height: auto; }
    UpgradePlanScreen #plan-return { color: $warning; height: auto; }
    UpgradePlanScreen #plan-unowned { color: $warning; height: auto; }
    UpgradePlanScreen ConfirmBox { margin: 0 0 1 0; }
    UpgradePlanScreen #plan-table { height: auto; }
    UpgradePlanScreen #plan-more { color: $text-muted; height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.failed = ""          # why the plan cannot go on (blocking for good); '' when it can
        self.planning = False
        # each arrival plans anew; a plan still being made for an earlier arrival (Back pressed while it ran,
        # another profile chosen) is cancelled, its result dropped, and the next one waits for it to end
        self.generation = 0
        self._one_at_a_time = threading.Lock()

    def compose_body(self) -> ComposeResult:
        yield Static("Planning: reading Helm's records and rendering the target…", id="plan-headline", markup=False)
        yield Static("", id="plan-return", markup=False)
        yield Static("", id="plan-blocking", markup=False)
        yield ConfirmBox(RECREATE_LABEL, id="confirm-recreate")
        yield Static("", id="plan-unowned", markup=False)
        yield ConfirmBox(ADOPT_LABEL, id="confirm-adopt")
        yield Static("", id="plan-table")
        yield Static("", id="plan-more", markup=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button("< Back", id="back", compact=True)
        yield Button("Plan again", id="replan", compact=True)
        yield Button(f"{self.NEXT_LABEL} >", id="next", variant="primary", compact=True, disabled=True)

    def on_mount(self) -> None:
        for box_id in ("#confirm-recreate", "#confirm-adopt"):
            self.query_one(box_id).display = False

    def on_screen_resume(self) -> None:
        """Every arrival plans again: the cluster or the chosen target may have changed since."""
        self.make_plan()

    @on(Button.Pressed, "#replan")
    def replan(self) -> None:
        if not self.planning:
            self.make_plan()

    def make_plan(self) -> None:
        self.generation += 1
        self.planning = True
        self._planning()
        self._plan(self.generation)

    @work(thread=True, group="upgrade-plan")
    def _plan(self, generation: int) -> None:
        upgrade = upgrade_state(self.app)
        with self._one_at_a_time:
            if generation != self.generation:
                return  # a later arrival asked for a plan before this one started
            subject = upgrade.subject
            recorder = PhaseRecorder()
            since = time.time() - 0.05
            try:
                outcome = upgrade.run(self, "plan", recorder)
                plan = upgrade.read_plan(subject.state_dir, since)
            except Exception as exc:  # a profile or state directory that changed under the page: say it, stay usable
                self.app.call_from_thread(self._show, None, f"the plan could not be made: {exc}", generation)
                return
            self.app.call_from_thread(self._show, plan, recorder.stopped(outcome), generation)

    def _planning(self) -> None:
        self.query_one("#next", Button).disabled = True
        self.query_one("#plan-headline", Static).update("Planning: reading Helm's records and rendering the target…")
        for part in ("#plan-return", "#plan-blocking", "#plan-unowned", "#plan-table", "#plan-more"):
            self.query_one(part, Static).update("")  # the last plan's, which may no longer hold
        for box_id in ("#confirm-recreate", "#confirm-adopt"):
            self.query_one(box_id).display = False
        self.set_status("Planning; this reads the cluster and changes nothing.")

    def _show(self, plan: dict[str, Any] | None, failure: str, generation: int = 0) -> None:
        from installer import redact

        if generation and generation != self.generation:
            return  # the plan of an earlier arrival (perhaps of another profile): the page waits for its own
        self.planning = False
        upgrade = upgrade_state(self.app)
        upgrade.plan = plan
        self.failed = redact.mask(failure)
        if plan is None:
            self.query_one("#plan-headline", Static).update("✗ The plan could not be made; nothing was changed.")
            self.query_one("#plan-blocking", Static).update(self.failed)
            self._gate()
            return
        self.query_one("#plan-headline", Static).update(headline(plan))
        if upgrade.subject is not None:
            self.wizard.final_report = upgrade.not_started(
                f"nothing was changed; the plan is in {upgrade.subject.state_dir / 'upgrade-plan.json'}",
                self.wizard.state.state_dir is not None)
        self.query_one("#plan-return", Static).update(point_of_no_return(plan, "the Backup page"))
        self.query_one("#plan-table", Static).update(changes_table(plan))
        more = pending_lines(plan, "the Checks page offers to roll it back") + pin_lines(plan)
        if changes_nothing(plan):
            more.append("Nothing to upgrade: every release already matches the target.")
        self.query_one("#plan-more", Static).update("\n".join(more))
        self.query_one("#plan-blocking", Static).update(blocking_text(plan, self.failed))
        self.query_one("#plan-unowned", Static).update(unowned_text(plan, self.failed))
        recreate = self.query_one("#confirm-recreate", Checkbox)
        recreate.display = bool(immutable_changes(plan)) and not self.failed
        recreate.value = upgrade.choices.recreate_immutable
        adopt = self.query_one("#confirm-adopt", Checkbox)
        adopt.display = bool(plan.get("unowned")) and not self.failed
        adopt.value = upgrade.choices.adopt
        self._gate()
        if self.focused is None or self.focused.id in ("back", "replan", "next"):
            self.query_one("#body").focus()  # arrows and Page Down read the table; Ctrl+N goes on

    @on(Checkbox.Changed)
    def _confirmed(self, event: Checkbox.Changed) -> None:
        upgrade = upgrade_state(self.app)
        if event.checkbox.id == "confirm-recreate":
            upgrade.choose(recreate_immutable=event.value)
        elif event.checkbox.id == "confirm-adopt":
            upgrade.choose(adopt=event.value)
        self._gate()

    def blocked_by(self) -> str:
        """Why Next is blocked now ('' when it is not)."""
        upgrade = upgrade_state(self.app)
        plan = upgrade.plan
        if self.planning:
            return "the plan is being made"
        if self.failed or plan is None:
            return "the upgrade cannot go on as it stands (above); Back to choose another profile"
        if immutable_changes(plan) and not upgrade.choices.recreate_immutable:
            return "Kubernetes refuses the changes marked ✗; confirm that you prepared them (--recreate-immutable)"
        if plan.get("unowned") and not upgrade.choices.adopt:
            return "objects applied without Helm must be adopted first; confirm the adoption (--adopt)"
        return ""

    def _gate(self) -> None:
        reason = self.blocked_by()
        self.query_one("#next", Button).disabled = bool(reason)
        self.set_status(f"Next is blocked: {reason}" if reason else
                        "Next runs the checks before anything changes (they change nothing).")

    def action_next(self) -> None:
        reason = self.blocked_by()
        if reason:
            self.set_status(f"Next is blocked: {reason}")
            return
        self.dismiss(NEXT)

    def action_back(self) -> None:
        if self.planning and self.app.cancel_run is not None:
            self.app.cancel_run()  # the plan being made is of no use now: stop reading the cluster for it
        self.dismiss(BACK)
