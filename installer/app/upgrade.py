"""`install.sh upgrade --answers FILE --to PROFILE [--plan] [--yes] [--resume]`: the upgrade pipeline and command.

The answers file names the profile the install was made from (release.version); --to names the
target. The run's steps see the answers as they read with release.version set to the target, so
deploy's release specs, executor, readiness watch and rollback are the install's own. The upgrade
shares the install's state directory, lock and journal (its steps are named upgrade-*), so one
run at a time acts on an install and `--resume` continues from the journal.

The pipeline runs whole (the headless command) or in phases (the wizard's pages): `plan` is a dry
run of the plan alone; `checks`, `backup` and `apply` are journaled runs of the pipeline up to and
including that phase, so each later phase reruns the checks (always_run) and skips a backup that
succeeded, exactly as a headless `--resume` would.
"""
from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from installer.invocation import install_sh
from installer import redact
from installer.answers import Answers
from installer.app.closing import write_closing
from installer.app.answers_file import load, state_dir_of
from installer.app.checks import validate
from installer.app.install import InstallOutcome, register_secrets, start_install
from installer.deploy.releases import ADDON_MODULES, release_specs, run_releases
from installer.deploy.outputs import ReleasesOutput
from installer.engine import Engine, Retry, Step, StepContext
from installer.engine.events import Sink
from installer.engine.faces import FACES, default_face, make_face
from installer.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from installer.profiles import ProfileError, ReleaseProfile, release_profile
from installer.bundle.step import images_in_mirror
from installer.upgrade.backup import upgrade_backup
from installer.upgrade.checks import RECOVER_FLAG, upgrade_checks
from installer.upgrade.plan_step import (ACCEPT_IMMUTABLE_FLAG, ADOPT_FLAG, PLAN_FILE, upgrade_adopt, upgrade_plan,
                                         with_version)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", metavar="FILE", required=True, help="the answers file the install was made from")
    parser.add_argument("--to", metavar="PROFILE", required=True, help="the release profile to upgrade to")
    parser.add_argument("--plan", action="store_true", help="print the upgrade plan and write upgrade-plan.json; "
                        "change nothing")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation on a terminal")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted or failed upgrade "
                        "(an upgrade always continues from its journal; accepted for symmetry with install)")
    parser.add_argument(ACCEPT_IMMUTABLE_FLAG, dest="recreate_immutable", action="store_true",
                        help="go on although the plan lists immutable-field changes (StatefulSet volumeClaimTemplates, "
                             "selectors): you deleted those objects keeping their pods and claims "
                             "(kubectl delete --cascade=orphan) and grew the claims, so Helm makes them again")
    parser.add_argument(ADOPT_FLAG, action="store_true",
                        help="give objects applied without Helm (egov-deployer) Helm's ownership label and annotations "
                             "so the releases take them over; nothing is deleted")
    parser.add_argument(RECOVER_FLAG, dest="recover_pending", action="store_true",
                        help="roll a release stuck in pending-* back to its last deployed revision before upgrading")
    parser.add_argument("--state-dir", metavar="DIR", help="the install's state directory")
    parser.add_argument("--output", choices=FACES, default=None, help="rich, plain or json")


def upgrade_apply(ctx: StepContext[Answers]) -> ReleasesOutput:
    """Every release of the target in dependency order (backbone, core, modules), watched to ready;
    a failed one is rolled back to its previous revision and what needs it is not upgraded."""
    specs = release_specs(ctx, None, exclude=set(ADDON_MODULES.values()))
    return run_releases(ctx, specs, "upgrade")


def plan_pipeline(source: str, target: str, stop_on_immutable: bool = False, stop_on_unowned: bool = False
                  ) -> list[Step]:
    return [Step("upgrade-plan", f"What upgrading to {target} changes",
                 functools.partial(upgrade_plan, source=source, stop_on_immutable=stop_on_immutable,
                                   stop_on_unowned=stop_on_unowned),
                 sections=("name", "target", "release", "sizing", "domain", "database", "registry"),
                 extra_inputs=lambda answers: {"from": source}, always_run=True, stall_after=120, timeout=900,
                 retry=Retry(attempts=1), waiting_for="Helm's records and the target's render")]


def upgrade_pipeline(answers: Answers, source: str, target: str, recreate_immutable: bool = False,
                     recover_pending: bool = False, adopt: bool = False) -> list[Step]:
    """validate, plan, checks (and images in the mirror), backup (the point of no return), apply."""
    checks = [Step("upgrade-checks", "Checks before anything changes",
                   functools.partial(upgrade_checks, recover_pending=recover_pending), needs=("upgrade-plan",),
                   sections=("name", "target", "database", "release", "backup"), always_run=True, stall_after=120,
                   timeout=900, retry=Retry(attempts=1), waiting_for="the cluster and the database to answer")]
    if answers.registry is not None and answers.registry.mirror:
        checks.append(Step("images", "Every image of the target in the mirror", images_in_mirror,
                           needs=("upgrade-checks",), sections=("release", "registry"), always_run=True,
                           stall_after=120, timeout=900, waiting_for="the registry mirror to answer"))
    return [
        Step("validate", "Check answers and referenced secrets", validate, always_run=True,
             sections=("version", "name", "target", "release"), stall_after=30, timeout=120, retry=Retry(attempts=1)),
        *[Step(s.id, s.title, s.run, needs=("validate",), sections=s.sections, extra_inputs=s.extra_inputs,
               always_run=True, stall_after=s.stall_after, timeout=s.timeout, retry=s.retry, waiting_for=s.waiting_for)
          for s in plan_pipeline(source, target, stop_on_immutable=not recreate_immutable, stop_on_unowned=not adopt)],
        *checks,
        Step("upgrade-backup", "Back up the database and the releases' current revisions", upgrade_backup,
             needs=(checks[-1].id,), sections=("name", "database", "release", "backup"), stall_after=600,
             timeout=4 * 3600, retry=Retry(attempts=1), waiting_for="pg_dump"),
        Step("upgrade-adopt", "Adopt objects applied without Helm", upgrade_adopt, needs=("upgrade-backup",),
             sections=("name", "release"), always_run=True, stall_after=120, timeout=900),
        # always_run: a release can move under a succeeded apply (a pending one rolled back by
        # --recover-pending, a hand-made rollback); the executor leaves releases that match as they are.
        Step("upgrade-apply", f"Upgrade releases to {target}", upgrade_apply, needs=("upgrade-adopt",),
             sections=("release", "sizing", "registry", "domain"), always_run=True, stall_after=300, timeout=3 * 3600,
             waiting_for="releases to become ready"),
    ]


@dataclass(frozen=True)
class UpgradeChoices:
    """What the operator chose to allow (the command's flags; the wizard's named confirmations)."""

    recreate_immutable: bool = False
    recover_pending: bool = False
    adopt: bool = False


@dataclass(frozen=True)
class UpgradeSubject:
    """One install and the profile it moves to: everything a phase needs."""

    answers: Answers          # as installed: release.version names the source profile
    answers_path: Path
    state_dir: Path
    source: str
    target: ReleaseProfile

    @property
    def target_id(self) -> str:
        """What release.version says for the target profile."""
        return profile_id(self.target)

    @property
    def target_answers(self) -> Answers:
        result: Answers = with_version(self.answers, self.target_id)
        return result


def profile_id(profile: ReleaseProfile) -> str:
    """The word release.version and --to use for a profile: its one name (digit-2.9-lts)."""
    return profile.name


def prepare(answers: Answers, answers_path: Path, to: str, state_dir: str | Path | None = None) -> UpgradeSubject:
    """The install of `answers` and the target profile `to`; raises ProfileError for an unknown profile
    (either side) with the names that exist."""
    target = release_profile(to, answers.base_dir)
    release_profile(answers.release.version, answers.base_dir)
    return UpgradeSubject(answers, Path(answers_path), state_dir_of(answers, str(state_dir) if state_dir else None),
                          answers.release.version, target)


PHASES = ("plan", "checks", "backup", "apply")
# the step(s) a phase ends with; `images` follows the checks when a registry mirror is set
_PHASE_ENDS = {"checks": ("upgrade-checks", "images"), "backup": ("upgrade-backup",), "apply": ("upgrade-apply",)}


def phase_steps(subject: UpgradeSubject, phase: str, choices: UpgradeChoices = UpgradeChoices()) -> list[Step]:
    """The steps of one phase: the plan alone, or the pipeline up to and including the phase's last step."""
    if phase == "plan":
        return plan_pipeline(subject.source, subject.target_id)
    steps = upgrade_pipeline(subject.target_answers, subject.source, subject.target_id,
                             recreate_immutable=choices.recreate_immutable, recover_pending=choices.recover_pending,
                             adopt=choices.adopt)
    last = max(index for index, step in enumerate(steps) if step.id in _PHASE_ENDS[phase])
    return steps[:last + 1]


def choice_flags(choices: UpgradeChoices) -> list[str]:
    """The command's flags for what the operator chose to allow."""
    return [flag for flag, chosen in ((ACCEPT_IMMUTABLE_FLAG, choices.recreate_immutable), (ADOPT_FLAG, choices.adopt),
                                      (RECOVER_FLAG, choices.recover_pending)) if chosen]


def run_phase(subject: UpgradeSubject, phase: str, choices: UpgradeChoices = UpgradeChoices(), *,
              sinks: Iterable[Sink], on_engine: Callable[[Engine], None] | None = None,
              handle_signals: bool = False, warn: Callable[[str], None] = lambda message: None) -> InstallOutcome:
    """Run one phase on the install's state directory, under its lock and journal (the plan: a dry run).

    A phase before `apply` is the pipeline cut after its last step: the journal records the cut, the target
    and the choices, so `status` says the upgrade was checked or backed up but not applied, and how to go on."""
    steps = phase_steps(subject, phase, choices)
    dry = phase == "plan"
    cut_after = steps[-1].id if phase in ("checks", "backup") else ""
    note = {"to": subject.target_id, "answers": str(subject.answers_path), "options": " ".join(choice_flags(choices))}
    if Path(subject.state_dir).absolute() != state_dir_of(subject.answers, None).absolute():
        note["state_dir"] = str(subject.state_dir)  # the command that goes on must name it too
    return start_install(subject.target_answers, subject.state_dir, sinks=sinks, resume=not dry, dry_run=dry,
                         answers_path=subject.answers_path, steps_for=lambda _answers: steps, on_engine=on_engine,
                         handle_signals=handle_signals, warn=warn, command="upgrade", cut_after=cut_after,
                         run_note=note, continues_journal=True)


# what an upgrade cut after each step has done (the wizard's Checks and Backup pages end there)
_DONE_WHEN_CUT = {"upgrade-checks": "checked", "images": "checked", "upgrade-backup": "checked and backed up"}


def unapplied_upgrade(run: dict[str, Any] | None, answers: str | None = None, state_dir: str | None = None
                      ) -> str | None:
    """An upgrade run that stopped as asked after its checks or its backup, in words: what it did, that nothing
    was upgraded, and the command that goes on (None for any other run)."""
    import shlex

    from installer.engine.status import cut_short

    if run is None or run.get("command") != "upgrade" or not cut_short(run):
        return None
    note = run.get("note") or {}
    to = note.get("to") or "PROFILE"
    done = _DONE_WHEN_CUT.get(str(run["cut_after"]), f"stopped after {run['cut_after']}")
    words = [install_sh(), "upgrade", "--answers", answers or note.get("answers") or "FILE", "--to", to]
    state_dir = state_dir or note.get("state_dir")
    words += ["--state-dir", state_dir] if state_dir else []
    words += (note.get("options") or "").split() + ["--resume"]
    return f"upgrade to {to}: {done}, not applied; continue with {' '.join(shlex.quote(w) for w in words)}"


def read_plan(state_dir: Path, since: float = 0.0) -> dict[str, Any] | None:
    """upgrade-plan.json as the last plan wrote it (None when absent or older than `since`)."""
    import json

    path = Path(state_dir) / PLAN_FILE
    try:
        if path.stat().st_mtime < since:
            return None
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def backup_result(state_dir: Path, subject: UpgradeSubject | None = None, listing: bool = True
                  ) -> dict[str, Any] | None:
    """The backup the journal records (its outputs) with the tables `pg_restore -l` lists in the dump
    (listing=False: without them, at once); None when no backup succeeded. With a subject, only the backup its
    upgrade keeps: the step's inputs are those it had (the same target, database and backup folder), so the
    engine skips the step and reuses it."""
    from installer.engine import journal as jr
    from installer.upgrade.backup import inputs_digest

    try:
        record = jr.Journal.load(Path(state_dir), running_is_dead=False).get("upgrade-backup")
    except jr.JournalError:
        return None
    if record is None or record.outcome != jr.SUCCEEDED:
        return None
    if subject is not None:
        step = next(s for s in phase_steps(subject, "backup") if s.id == "upgrade-backup")
        if record.digest != inputs_digest(step, subject.target_answers):
            return None
    result = dict(record.outputs)
    result["finished"] = record.finished
    result["table_names"] = []
    if result.get("dump") and listing:
        from installer.adapters import pgdump

        try:
            entries = pgdump.contents(Path(result["dump"]), timeout=120)
        except pgdump.DumpError as error:
            result["listing_error"] = str(error)
        else:
            result["table_names"] = [" ".join(e.split()[-3:-1]) for e in entries
                                     if " TABLE " in e and " TABLE DATA " not in e]
    return result


def record_target_version(subject: UpgradeSubject) -> Path:
    """After a successful upgrade: release.version in the answers file says the target, comments kept."""
    from installer.answers import load_tree, save_answers, validate_data

    tree, data = load_tree(subject.answers_path)
    answers = validate_data(data, filename=str(subject.answers_path), base_dir=subject.answers_path.parent, tree=tree)
    return save_answers(with_version(answers, subject.target_id), subject.answers_path, tree=tree)


def run(args: argparse.Namespace) -> int:
    answers = load(args.answers)
    if answers is None:
        return EXIT_USAGE
    try:
        subject = prepare(answers, Path(args.answers), args.to, args.state_dir)
    except ProfileError as error:
        sys.stderr.write(f"install.sh upgrade: {error}\n")
        return EXIT_USAGE
    source, state_dir = subject.source, subject.state_dir
    warning = register_secrets(answers, state_dir)
    if warning:
        sys.stderr.write(warning + "\n")
    face_name = args.output or default_face(sys.stdout)
    choices = UpgradeChoices(recreate_immutable=args.recreate_immutable, recover_pending=args.recover_pending,
                             adopt=args.adopt)
    if not args.plan and not args.yes and sys.stdin.isatty() and sys.stderr.isatty():
        # On a terminal the plan comes first, then the question: the operator answers having seen it.
        shown = _run_with_face(subject, "plan", choices, face_name)
        if shown.refused or shown.exit_code != EXIT_OK:
            if shown.refused:
                sys.stderr.write(redact.mask(shown.refused) + "\n")
            return shown.exit_code or EXIT_FAILED
        sys.stderr.write(f"\nUpgrade DIGIT '{answers.name}' from {source} to {subject.target_id} as planned above "
                         f"(state: {state_dir})? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("Not confirmed: nothing was changed.\n")
            return EXIT_FAILED
    outcome = _run_with_face(subject, "plan" if args.plan else "apply", choices, face_name)
    stream = sys.stderr if face_name == "json" else sys.stdout
    if outcome.refused:
        sys.stderr.write(redact.mask(outcome.refused) + "\n")
        return outcome.exit_code or EXIT_FAILED
    if args.plan:
        write_closing(f"upgrade plan written to {state_dir / PLAN_FILE}; nothing was changed", stream)
        return outcome.exit_code
    return finish(subject, outcome, stream, explicit_state_dir=bool(args.state_dir))


def finish(subject: UpgradeSubject, outcome: InstallOutcome, stream: IO[str], *, explicit_state_dir: bool,
           errors: IO[str] | None = None) -> int:
    """After an applied upgrade (the command, line mode): release.version saved on success, then the closing
    block on `stream`; the exit code."""
    errors = errors or sys.stderr
    saved = None
    if outcome.exit_code == EXIT_OK:
        try:
            saved = record_target_version(subject)
        except Exception as exc:  # the file moved or became unreadable: say it; the closing asks to set it by hand
            errors.write(redact.mask(f"release.version could not be saved in {subject.answers_path}: {exc}") + "\n")
    write_closing(closing(subject, explicit_state_dir=explicit_state_dir, saved=saved), stream)
    return outcome.exit_code


def _run_with_face(subject: UpgradeSubject, phase: str, choices: UpgradeChoices, face_name: str) -> InstallOutcome:
    face = make_face(face_name, sys.stdout)
    try:
        return run_phase(subject, phase, choices, sinks=[face], handle_signals=True)
    finally:
        close = getattr(face, "close", None)
        if close:
            close()


def _backup_block(state_dir: Path) -> str:
    """The backup this upgrade took and how to go back to where it started ('' before one was taken)."""
    from installer.engine import journal as jr
    from installer.upgrade.going_back import restore_steps

    try:
        record = jr.Journal.load(state_dir, running_is_dead=False).get("upgrade-backup")
    except jr.JournalError:
        return ""
    if record is None or record.outcome != jr.SUCCEEDED or not record.outputs.get("folder"):
        return ""
    return redact.mask("\n".join(restore_steps(record.outputs))) + "\n"


def closing(subject: UpgradeSubject, *, explicit_state_dir: bool = False, saved: Path | None = None) -> str:
    """The last words after an upgrade (the wizard prints them once it has closed): the closing block every
    face prints, then where the install stands, the backup and how to go back, and release.version."""
    from installer.app.closing import closing_text
    from installer.engine import journal as jr

    text = closing_text(subject.state_dir, subject.answers_path, explicit_state_dir=explicit_state_dir,
                        command="upgrade", what="upgrade", resume_options=("--to", subject.target_id),
                        with_summary=False)
    lines = [text] if text else []
    try:
        journal = jr.Journal.load(subject.state_dir, running_is_dead=False)
    except jr.JournalError:
        return redact.mask("\n".join(lines))
    applied = journal.get("upgrade-apply")
    if applied is not None and applied.outcome == jr.SUCCEEDED:
        outputs = applied.outputs
        ready = sorted([*outputs.get("deployed", []), *outputs.get("unchanged", [])])
        lines.append(f"DIGIT {subject.answers.name!r} runs {subject.target.name} (DevOps commit "
                     f"{subject.target.devops_commit or 'unknown'}); every release ready: {', '.join(ready)}")
    backup = _backup_block(subject.state_dir)
    if backup:
        lines.append(backup.rstrip("\n"))
    if saved is not None:
        lines.append(f"release.version: {subject.target_id} saved in {saved}")
    elif applied is not None and applied.outcome == jr.SUCCEEDED:
        lines.append(f"Set `release.version: {subject.target_id}` in {subject.answers_path} so later runs keep it.")
    return redact.mask("\n".join(lines))
