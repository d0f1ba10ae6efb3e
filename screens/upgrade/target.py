"""The target profile: every release profile found, the installed one shown and not selectable."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Label, RadioSet, Static

from screens.base import NEXT, WizardScreen
from screens.upgrade.state import upgrade_state
from screens.widgets.choice_button import ChoiceButton


def describe(profile) -> str:
    commit = getattr(profile, "devops_commit", None) or "commit not pinned"
    return f"{profile.name}  (DIGIT {profile.digit_version}, DevOps {commit})"


class UpgradeTargetScreen(WizardScreen):
    PAGE = "upgrade-target"
    TITLE_TEXT = "Target profile"
    INTRO = "The release profile to upgrade to. The next page shows what it changes; nothing changes yet."
    DEFAULT_CSS = """
    UpgradeTargetScreen RadioSet { width: 100%; border: none; padding: 0; }
    UpgradeTargetScreen RadioSet:focus-within { background: $boost; }
    UpgradeTargetScreen #installed { margin: 0 0 1 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.choices: list[str] = []   # the profile each radio button stands for (release.version's word)
        self.current = ""

    def compose_body(self) -> ComposeResult:
        from screens.state import Catalog

        upgrade = upgrade_state(self.app)
        answers = upgrade.answers
        catalog = Catalog.load(answers.base_dir if answers is not None else self.wizard.state.base_dir)
        self.current = answers.release.version if answers is not None else ""
        installed = catalog.releases.get(self.current)
        yield Static(f"Installed now: {describe(installed) if installed else self.current or '?'}", id="installed",
                     markup=False)
        if catalog.problems:
            yield Static("Not offered (unreadable):\n" + "\n".join(catalog.problems), markup=False)
        yield Label("Upgrade to", markup=False)
        chosen = upgrade.subject.target_id if upgrade.subject is not None else None
        with RadioSet(id="profiles"):
            for key, profile in catalog.releases.items():
                if key == self.current:
                    yield ChoiceButton(f"{describe(profile)}  · installed now", id="profile-current", disabled=True)
                    continue
                self.choices.append(key)
                # none chosen for the operator on a first visit: the target is a decision, not a default
                yield ChoiceButton(describe(profile), value=key == chosen, id=f"profile-{len(self.choices) - 1}")

    def _chosen(self) -> str | None:
        pressed = self.query_one("#profiles", RadioSet).pressed_button
        if pressed is None or pressed.id in (None, "profile-current"):
            return None
        return self.choices[int(pressed.id.removeprefix("profile-"))]

    def on_mount(self) -> None:
        if not self.choices:
            self.set_status("There is no other release profile to upgrade to: add one under profiles/releases/")

    def action_next(self) -> None:
        from installer.app.upgrade import prepare
        from installer.profiles import ProfileError

        upgrade = upgrade_state(self.app)
        target = self._chosen()
        if target is None or upgrade.answers is None:
            self.set_status("Next is blocked: choose the profile to upgrade to")
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
