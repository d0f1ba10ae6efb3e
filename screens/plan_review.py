"""Plan review: what Terraform would add, change or destroy in the cloud, confirmed by the operator before apply.

Shown between preflight and progress for cloud targets. The plan is Terraform's own (`plan -json`, through
installer.provision.cloud.review); nothing is created until the operator presses Apply.
"""
from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button, DataTable, Static

from screens.base import WizardScreen
from screens.widgets.readonly_table import ReadOnlyTable

# the action as the operator reads it; a destructive one is said in words, not only by colour
ACTIONS = {"create": "+ add", "update": "~ change", "delete": "- DESTROY", "replace": "± REPLACE",
           "create-then-delete": "± REPLACE", "delete-then-create": "± REPLACE"}


class PlanReviewScreen(WizardScreen):
    PAGE = "plan"
    TITLE_TEXT = "Cloud plan"
    INTRO = ("What Terraform will do in the cloud. Nothing has been created yet: Apply starts the install, "
             "Cancel goes back to the review and changes nothing.")
    DEFAULT_CSS = """
    PlanReviewScreen #plan-headline { text-style: bold; }
    PlanReviewScreen #plan-notes { color: $warning; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.review = None
        self.stop = threading.Event()

    def compose_body(self) -> ComposeResult:
        yield Static("Planning: terraform init and plan…", id="plan-headline", markup=False)
        yield Static("", id="plan-notes", markup=False)
        yield ReadOnlyTable(id="plan-changes", cursor_type="none", show_cursor=False)

    def compose_buttons(self) -> ComposeResult:
        yield Button("< Back", id="back", compact=True)
        yield Button("Cancel", id="cancel-plan", compact=True)
        yield Button("Apply >", id="apply", variant="success", disabled=True, compact=True)

    def on_mount(self) -> None:
        self.query_one("#plan-changes", DataTable).add_columns("action", "resource")

    def on_screen_resume(self) -> None:
        """Every arrival plans again: the answers may have changed since the last plan."""
        self.stop = threading.Event()
        self.plan(self.stop)

    @work(thread=True, exclusive=True, group="plan")
    def plan(self, stop: threading.Event) -> None:
        from installer.engine import StepFailed
        from installer.provision.cloud.review import plan_review
        from installer.state import state_dir_for

        self.app.call_from_thread(self._planning)
        state = self.wizard.state
        try:
            answers = state.validate()
            review = plan_review(answers, state_dir_for(answers.name, state.state_dir), stop,
                                 on_wait=lambda message: self.app.call_from_thread(self.set_status, message))
        except StepFailed as exc:
            self.app.call_from_thread(self._failed, str(exc), exc.remediation)
            return
        except Exception as exc:  # answers changed under the page, an unreadable stack: say it, stay usable
            self.app.call_from_thread(self._failed, str(exc), None)
            return
        self.app.call_from_thread(self._show, review)

    def _planning(self) -> None:
        self.review = None
        self.query_one("#apply", Button).disabled = True
        self.query_one("#plan-headline", Static).update("Planning: terraform init and plan…")
        self.query_one("#plan-notes", Static).update("")
        self.query_one("#plan-changes", DataTable).clear()
        self.set_status("Terraform is planning; this reads the cloud and changes nothing.")

    def _failed(self, message: str, remediation: str | None) -> None:
        from installer import redact

        self.query_one("#plan-headline", Static).update("✗ The plan could not be made; nothing was changed.")
        self.query_one("#plan-notes", Static).update(redact.mask(message + (f"\nwhat to do: {remediation}" if remediation else "")))
        self.set_status("Back to fix the answers, or Cancel.")

    def _show(self, review) -> None:
        self.review = review
        table = self.query_one("#plan-changes", DataTable)
        table.clear()
        for change in review.changes:
            table.add_row(Text(ACTIONS.get(change.action, change.action)), Text(change.address))
        headline = f"Plan: {review.headline()}." if not review.empty else "Plan: the cloud already matches the stack."
        if review.machines:
            headline += f"\n{review.machines}"
        self.query_one("#plan-headline", Static).update(headline)
        notes = []
        if review.refused:
            notes.append("✗ It would destroy or replace " + ", ".join(review.refused) + ". The install stops before "
                         "applying unless each is named in target.terraform.allow_destroy.")
        if review.cut_off:
            notes.append("An earlier apply was cut off: the install reconciles first, so some resources to add may "
                         "be found in the cloud and imported instead.")
        self.query_one("#plan-notes", Static).update("\n".join(notes))
        apply = self.query_one("#apply", Button)
        apply.disabled = bool(review.refused)
        if not apply.disabled:
            apply.focus()
        self.set_status("Apply to create these in the cloud and install DIGIT, or Cancel." if not review.refused
                        else "Nothing can be applied as it stands: Back to change the answers.")

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#cancel-plan")
    def _cancel_pressed(self) -> None:
        self.stop.set()
        self.app.notify("cancelled: nothing was created in the cloud", title="Plan")
        self.dismiss("review")

    def action_next(self) -> None:
        if self.review is not None and not self.query_one("#apply", Button).disabled:
            from installer.provision.cloud.review import pin_review
            from installer.provision.cloud.workspace import Workspace
            from installer.state import state_dir_for

            # What Apply confirms is what gets applied: the provision step refuses a plan that differs.
            state = self.wizard.state
            pin_review(Workspace.at(state_dir_for(state.validate().name, state.state_dir)).root, self.review)
            self.dismiss("progress")

    def back_possible(self) -> bool:
        return True  # to Preflight: planning stops, nothing was applied

    def action_back(self) -> None:
        self.stop.set()
        self.dismiss("preflight")
