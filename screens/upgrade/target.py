"""The target profile: every release profile found, the installed one shown and not selectable."""
from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Label, RadioSet, Static

from screens.base import NEXT, WizardScreen
from screens.paths import shown_path
from screens.upgrade.state import upgrade_state
from screens.upgrade.targets import NO_OTHER_PROFILE, describe, explain, mark, unfit_for
from screens.widgets.choice_button import ChoiceButton


class UpgradeTargetScreen(WizardScreen):
    PAGE = "upgrade-target"
    TITLE_TEXT = "Target profile"
    INTRO = "The release profile to upgrade to. The next page shows what it changes; nothing changes yet."
    DEFAULT_CSS = """
    UpgradeTargetScreen RadioSet { width: 100%; border: none; padding: 0; }
    UpgradeTargetScreen RadioSet:focus-within { background: $boost; }
    UpgradeTargetScreen #installed { margin: 0 0 1 0; }
    UpgradeTargetScreen #target-problem { color: $error; height: auto; margin: 1 0 0 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.choices: list[str] = []   # the profile each radio button stands for (release.version's word)
        self.current = ""
        self.unfit: dict[str, Any] = {}  # profile -> why the install's chart folder cannot make its plan

    def compose_body(self) -> ComposeResult:
        from screens.state import Catalog

        upgrade = upgrade_state(self.app)
        answers = upgrade.answers
        catalog = Catalog.load(answers.base_dir if answers is not None else self.wizard.state.base_dir)
        self.current = answers.release.version if answers is not None else ""
        installed = catalog.releases.get(self.current)
        charts = f"\nCharts from: {shown_path(answers.release.charts)} (release.charts)" if answers is not None else ""
        yield Static(f"Installed now: {describe(installed) if installed else self.current or '?'}{charts}",
                     id="installed", markup=False)
        if catalog.problems:
            yield Static("Not offered (unreadable):\n" + "\n".join(catalog.problems), markup=False)
        yield Label("Upgrade to", markup=False)
        chosen = upgrade.subject.target_id if upgrade.subject is not None else None
        self.choices, self.unfit = [], {}
        with RadioSet(id="profiles"):
            for key, profile in catalog.releases.items():
                if key == self.current:
                    # its details are in the "Installed now" line above; repeated here they cut the mark at 80 columns
                    yield ChoiceButton(f"{key}  · installed now", id="profile-current", disabled=True)
                    continue
                self.choices.append(key)
                label = describe(profile)
                unfit = unfit_for(answers, key)
                if unfit is not None:
                    self.unfit[key] = unfit
                    label += f"  · {mark(unfit)}"
                # none chosen for the operator on a first visit: the target is a decision, not a default
                yield ChoiceButton(label, value=key == chosen, id=f"profile-{len(self.choices) - 1}")
        yield Static("", id="target-problem", markup=False)

    def _chosen(self) -> str | None:
        pressed = self.query_one("#profiles", RadioSet).pressed_button
        if pressed is None or pressed.id in (None, "profile-current"):
            return None
        return self.choices[int(pressed.id.removeprefix("profile-"))]

    def on_mount(self) -> None:
        if not self.choices:
            self.set_status(NO_OTHER_PROFILE)
        self._explain()

    @on(RadioSet.Changed, "#profiles")
    def _explain(self) -> None:
        """Under the list: why the chosen profile cannot be planned for this install, if it cannot."""
        target = self._chosen()
        unfit = self.unfit.get(target) if target else None
        self.query_one("#target-problem", Static).update(f"✗ {explain(unfit)}" if unfit is not None else "")
        if unfit is None and str(getattr(self.query_one("#status", Static), "_text", "")).startswith("Next is blocked"):
            self.set_status("")

    def action_next(self) -> None:
        from installer.app.upgrade import prepare
        from installer.profiles import ProfileError

        upgrade = upgrade_state(self.app)
        target = self._chosen()
        if target is None or upgrade.answers is None:
            self.set_status("Next is blocked: choose the profile to upgrade to")
            return
        if target in self.unfit:
            self.set_status(f"Next is blocked: {target} cannot be planned for this install (above); "
                            "choose another profile")
            return
        try:
            subject = prepare(upgrade.answers, upgrade.answers_path, target, upgrade.state_dir)
        except ProfileError as exc:
            self.set_status(f"Next is blocked: {exc}")
            return
        if upgrade.subject is None or upgrade.subject.target_id != subject.target_id:
            upgrade.forget_results()
        upgrade.subject = subject
        self.dismiss(NEXT)
