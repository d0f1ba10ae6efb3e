"""Line mode's upgrade path: which install, which profile, the plan, the named choices, then the upgrade.

For an operator without a full-screen terminal (a serial console, a jump host, TERM=dumb). It runs the
same phases of the same pipeline as the wizard's upgrade pages and `./install.sh upgrade`
(installer/app/upgrade.py): the plan is the upgrade's plan step run dry and printed as `upgrade --plan`
prints it; the run is the whole pipeline (checks, backup, apply) with the headless run's progress lines
and closing block, on the install's journal, so an interrupted run is completed by `--resume`.
Nothing changes before the operator has answered every question: Ctrl+C at any of them, between two of
them or while the plan is made leaves the install as it was ("Stopped: nothing was changed."); once the run
has started, what it did is in the journal and the last words name the command that resumes it.
"""
from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from installer.exitcodes import EXIT_FAILED, EXIT_INTERRUPTED
from installer.upgrade.plan_step import POINT_OF_NO_RETURN_LINE
from screens.plain import terminal_width
from screens.upgrade.installs import FoundInstalls, InstallRefused, open_install
from screens.upgrade.plan_notes import (ADOPT_LABEL, RECOVER_LABEL, RECREATE_LABEL, blocking_text, changes_nothing,
                                        immutable_changes, pending_lines, point_of_no_return, unowned_text)
from screens.upgrade.state import PhaseRecorder, UpgradeState
from screens.upgrade.targets import NO_OTHER_PROFILE, describe, explain, mark, unfit_for

INSTALL = "Install DIGIT"
UPGRADE = "Upgrade an existing install"
EXIT_CANCELLED = EXIT_INTERRUPTED  # as line mode's install path: 130 (128 + SIGINT)
NOTHING_CHANGED = "Stopped: nothing was changed."
BACKUP_POINT = "the backup the upgrade takes once the checks pass"


class FittedStream:
    """A stream whose lines are wrapped to the terminal at spaces as they are written (the headless
    progress lines, in line mode); commands and paths stay whole (closing.fit_to_terminal)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        from installer.app.closing import fit_to_terminal

        width = terminal_width()
        return self.stream.write("\n".join(fit_to_terminal(line, width) for line in text.split("\n")))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


@contextmanager
def last_words() -> Iterator[None]:
    """While the last lines after a Ctrl+C are printed, a second Ctrl+C does not cut them short (into Python's
    own "interrupted" or a traceback); the previous handler is back afterwards."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to hold off
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Stopped(Exception):
    """The upgrade stops before it starts; the message says why and that nothing was changed."""


class LineUpgrade:
    """The questions of the upgrade, one at a time, over a line-mode wizard's prompts (its say and ask)."""

    def __init__(self, wizard: Any, installs: FoundInstalls) -> None:
        self.wizard = wizard
        self.q = wizard.q
        self.out: IO[str] = wizard.out
        self.installs = installs
        self.upgrade = UpgradeState()
        self.explicit_state_dir = wizard.state.state_dir is not None

    def show(self, text: str) -> None:
        """Lines for the operator wrapped at spaces to the terminal, each under its own indent."""
        from installer.app.closing import fit_to_terminal

        self.out.write(fit_to_terminal(text, terminal_width()) + "\n")
        self.out.flush()

    def ask(self, prompt: Any) -> Any:
        return self.wizard._ask(prompt)

    def run(self) -> int:
        """The questions, then the run. Ctrl+C at a question (Cancelled) or anywhere between them, the plan
        included (KeyboardInterrupt), stops with nothing changed; one that escapes the run's own handling (before
        its handlers are set, after they are restored) ends with the command that resumes the upgrade."""
        from screens.plain import Cancelled

        try:
            self.choose_install()
            self.choose_target()
            self.review_plan()
            self.confirm()
        except (Cancelled, KeyboardInterrupt):
            with last_words():
                self.show("")
                self.show(self.stopped_before_the_run())
            return EXIT_CANCELLED
        except Stopped as stopped:
            self.show(self.not_started(str(stopped)))
            return EXIT_FAILED
        try:
            return self.apply()
        except KeyboardInterrupt:
            with last_words():
                self.show("")
                self.show(self.interrupted())
            return EXIT_CANCELLED

    def stopped_before_the_run(self) -> str:
        """After a Ctrl+C before the run: nothing was changed, and how to take the upgrade up again."""
        from installer.invocation import install_sh

        subject = self.upgrade.subject
        if subject is None:
            return f"{NOTHING_CHANGED}\nThe upgrade has not started; start again with: {install_sh()} --plain"
        return "\n".join([NOTHING_CHANGED,
                          f"The upgrade of {subject.answers.name!r} to {subject.target_id} has not started. "
                          f"Continue in line mode ({install_sh()} --plain, {UPGRADE}), or with:",
                          f"  {self.upgrade.command(self.explicit_state_dir)}"])

    def interrupted(self) -> str:
        """After a Ctrl+C the run's own handling did not see: the journal holds what was done; --resume goes on."""
        return "\n".join(["Stopped: the upgrade was interrupted; what it did is kept in the install's journal. "
                          "Then resume with:", f"  {self.upgrade.command(self.explicit_state_dir)} --resume"])

    def not_started(self, why: str) -> str:
        """Why the upgrade did not start, and how to take it up again (with the choices made as flags)."""
        from installer.invocation import install_sh

        subject = self.upgrade.subject
        if subject is None:
            return f"The upgrade has not started: {why}. Start again with: {install_sh()} --plain"
        return "\n".join([f"The upgrade of {subject.answers.name!r} to {subject.target_id} has not started: {why}.",
                          f"Continue in line mode ({install_sh()} --plain, {UPGRADE}), or with:",
                          f"  {self.upgrade.command(self.explicit_state_dir)}"])

    # -- the questions

    def choose_install(self) -> None:
        self.show("")
        self.show("== Install to upgrade ==")
        self.show("The answers file the install was made from: its name finds the install's state directory, "
                  "its release.version the profile it runs.")
        if self.installs.not_offered:
            self.show("Not offered:\n" + "\n".join(f"  {line}" for line in self.installs.not_offered))
        choices = [self.q.Choice(label, value=str(path)) for label, path in self.installs.found]
        choices.append(self.q.Choice("another answers file", value=""))
        while True:
            picked = self.ask(self.q.select("Which install?", choices=choices, default=choices[0]))
            if not picked:
                typed = self.ask(self.q.text("Answers file of the install")).strip()
                if not typed:
                    continue
                picked = str(Path(typed).expanduser().absolute())
            try:
                opened = open_install(Path(picked), self.wizard.state.state_dir)
            except InstallRefused as refused:
                self.show(f"  ✗ {refused}")
                continue
            break
        self.upgrade.answers, self.upgrade.answers_path, self.upgrade.state_dir = (
            opened.answers, opened.path, opened.state_dir)
        from screens.paths import shown_path

        self.show(f"install {opened.answers.name!r} ({opened.outcome}), profile {opened.answers.release.version}, "
                  f"state {shown_path(opened.state_dir)}")

    def choose_target(self) -> None:
        """Every profile found; the installed one listed but not selectable, none chosen for the operator, and
        one whose charts the install's chart folder lacks marked and refused with the reason."""
        from installer.app.upgrade import prepare
        from installer.profiles import ProfileError
        from screens.paths import shown_path
        from screens.state import Catalog

        answers = self.upgrade.answers
        catalog = Catalog.load(answers.base_dir)
        current = answers.release.version
        installed = catalog.releases.get(current)
        self.show("")
        self.show("== Target profile ==")
        self.show(f"Installed now: {describe(installed) if installed else current}")
        self.show(f"Charts from: {shown_path(answers.release.charts)} (release.charts)")
        for problem in catalog.problems:
            self.show(f"  not offered (unreadable): {problem}")
        unfit: dict[str, Any] = {}
        choices = [self.q.Choice("(choose the profile to upgrade to)", value="")]
        for key, profile in catalog.releases.items():
            if key == current:
                choices.append(self.q.Choice(describe(profile), value=key, disabled="installed now"))
                continue
            label = describe(profile)
            why = unfit_for(answers, key)
            if why is not None:
                unfit[key] = why
                label += f"  · {mark(why)}"
            choices.append(self.q.Choice(label, value=key))
        if len(choices) == 1 + (current in catalog.releases):
            raise Stopped(NO_OTHER_PROFILE)
        while True:
            target = self.ask(self.q.select("Upgrade to", choices=choices, default=choices[0]))
            if not target or target == current:  # the installed one cannot be picked; said again should it be
                self.show("  ✗ choose the profile to upgrade to" + (" (not the one installed now)" if target else ""))
                continue
            if target in unfit:
                self.show(f"  ✗ {target} cannot be planned for this install: {explain(unfit[target])}")
                continue
            try:
                self.upgrade.subject = prepare(answers, self.upgrade.answers_path, target, self.upgrade.state_dir)
            except ProfileError as error:
                self.show(f"  ✗ {error}")
                continue
            return

    def review_plan(self) -> None:
        """The plan as `upgrade --plan` prints it, then what blocks it and the point of no return; then each
        choice the plan needs, asked by its name, No unless answered Yes."""
        from installer import redact

        subject = self.upgrade.subject
        assert subject is not None
        self.show("")
        self.show("== Upgrade plan ==")
        self.show("Planning: reading Helm's records and rendering the target (this changes nothing)…")
        recorder = PhaseRecorder()
        since = time.time() - 0.05
        engines: list[Any] = []
        outcome = self.upgrade.run_phase(subject, "plan", self.upgrade.choices, sinks=[recorder],
                                         on_engine=engines.append, handle_signals=True, warn=self.show)
        # A Ctrl+C while the plan is made stops here, even when the plan (the only step) went on to its end.
        if outcome.exit_code == EXIT_CANCELLED or any(engine.cancel_event.is_set() for engine in engines):
            from screens.plain import Cancelled

            raise Cancelled()
        plan = self.upgrade.read_plan(subject.state_dir, since)
        # the plan's own point-of-no-return line: said once, in full, before the last question (confirm)
        lines = [line for line in recorder.logs.get("upgrade-plan", []) if line != POINT_OF_NO_RETURN_LINE]
        if lines:
            self.show(redact.mask("\n".join(lines)))
        failed = redact.mask(recorder.stopped(outcome))
        if failed or plan is None:
            self.show(blocking_text(plan or {}, failed or "the plan could not be made"))
            raise Stopped("the plan refuses it; nothing was changed")
        self.upgrade.plan = plan
        self.show("")
        for text in (blocking_text(plan, ""), unowned_text(plan, ""),
                     "\n".join(pending_lines(plan, "the checks refuse it unless it is rolled back (asked below)"))):
            if text:
                self.show(text)
        if changes_nothing(plan):
            self.show("Nothing to upgrade: every release already matches the target.")
        if immutable_changes(plan):
            self.choose_named("recreate_immutable", RECREATE_LABEL,
                              "Kubernetes refuses the changes marked IMMUTABLE in place")
        if plan.get("unowned"):
            self.choose_named("adopt", ADOPT_LABEL, "objects applied without Helm must be adopted first")
        if plan.get("pending"):
            self.show("A release is stuck pending: the checks refuse to go on until it is rolled back.")
            self.choose_named("recover_pending", RECOVER_LABEL, "a release is stuck pending")

    def choose_named(self, choice: str, label: str, why: str) -> None:
        """One named choice, asked: default No, and No stops the upgrade before anything changes."""
        if not self.ask(self.q.confirm(f"{label}?", default=False)):
            raise Stopped(f"{why} and {label.rsplit('(', 1)[-1].rstrip(')')} was not chosen; nothing was changed")
        self.upgrade.choose(**{choice: True})

    def confirm(self) -> None:
        subject = self.upgrade.subject
        assert subject is not None
        self.show("")
        self.show(f"Upgrade DIGIT {subject.answers.name!r} from {subject.source} to {subject.target_id} as planned "
                  f"above (state: {subject.state_dir}). The checks run first; nothing changes before the backup.")
        warning = point_of_no_return(self.upgrade.plan or {}, BACKUP_POINT)
        if warning:
            self.show(warning)
        if not self.ask(self.q.confirm("Start the upgrade as planned above?", default=False)):
            raise Stopped("not confirmed; nothing was changed")

    # -- the run

    def apply(self) -> int:
        """The whole pipeline on the install's journal (the checks again, the backup, then each release), with
        the headless run's progress lines, then its closing block."""
        from installer import redact
        from installer.app.upgrade import finish
        from installer.engine.faces import PlainFace

        subject = self.upgrade.subject
        assert subject is not None
        self.show("")
        self.show("== Upgrading ==")
        self.show("Ctrl+C stops the run; what was done is kept in the journal and --resume goes on from there.")
        face = PlainFace(FittedStream(self.out))
        outcome = self.upgrade.run_phase(subject, "apply", self.upgrade.choices, sinks=[face], handle_signals=True,
                                         warn=self.show)
        face.close()
        if outcome.refused:
            self.show(redact.mask(outcome.refused))
            return outcome.exit_code or EXIT_FAILED
        return finish(subject, outcome, self.out, explicit_state_dir=self.explicit_state_dir, errors=self.out)
