"""What the wizard holds between screens: the draft answers, typed secrets, the catalogue of profiles.

Everything here is plain data, so back and forward never lose what was typed and
Ctrl+S can write a draft from any screen. Loading the catalogue reads files, so
it happens before the UI starts.
"""
from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.answers import ANSWERS_VERSION, Answers, AnswersError, Problem, load_tree, validate_data, write_private
from installer.answers.sections import PAGE_SECTIONS
from installer.answers.models import Release
from installer.profiles import (ProfileError, ReleaseProfile, SizingProfile, canonical_release_name, release_profile,
                                release_profile_names, sizing_profile, sizing_profile_names)
from screens.secrets import SecretHolder
from screens.questions import section_errors

DEFAULT_ANSWERS = "answers.yaml"

# wizard page -> the answers sections it asks for (owned by installer/answers/sections.py)
PAGES = PAGE_SECTIONS


@dataclass
class Catalog:
    sizing: dict[str, SizingProfile] = field(default_factory=dict)
    releases: dict[str, ReleaseProfile] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, base_dir: Path | None) -> Catalog:
        catalog = cls()
        for name in sizing_profile_names(base_dir):
            try:
                catalog.sizing[name] = sizing_profile(name, base_dir)
            except ProfileError as exc:
                catalog.problems.append(str(exc))
        for name in release_profile_names(base_dir):
            try:
                catalog.releases[name] = release_profile(name, base_dir)
            except ProfileError as exc:
                catalog.problems.append(str(exc))
        return catalog


@dataclass
class PreviousInstall:
    name: str
    state_dir: Path
    answers: Path
    outcome: str


def describe_install(state_dir: Path) -> str:
    """An install's state in the words `status` uses: running, or how its last run ended and where it stopped."""
    from installer.engine.journal import JournalError
    from installer.engine.status import status_data

    try:
        data = status_data(state_dir)
    except (JournalError, OSError) as exc:
        return f"unreadable: {exc}"
    except Exception as exc:  # a state directory another version left: say so rather than hide the install
        return f"unreadable: {type(exc).__name__}"
    if data.get("running"):
        return "running now"
    run = data.get("last_run") or {}
    from installer.app.status import later_uninstall

    uninstall = later_uninstall(state_dir, run or None)
    if uninstall is not None:  # the install's own table is history: its releases were removed
        return "uninstalled" if uninstall["outcome"] == "succeeded" else f"uninstall {uninstall['outcome']}"
    from installer.app.upgrade import unapplied_upgrade

    unapplied = unapplied_upgrade(run or None)
    if unapplied is not None:  # its last run succeeded, but only up to the checks or the backup
        return unapplied
    outcome = str(run.get("outcome") or "never run")
    failed = next((step["id"] for step in data.get("steps", []) if step.get("outcome") in ("failed", "interrupted", "cancelled")), None)
    return f"{outcome} at {failed}" if failed and outcome not in ("succeeded", "ok") else outcome


def find_previous_installs(root: Path | None = None) -> list[PreviousInstall]:
    """Installs with a journal in the state root, newest first."""
    from installer.state import state_root

    root = root or state_root()
    found: list[PreviousInstall] = []
    if not root.is_dir():
        return found
    for state_dir in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
        answers = state_dir / "answers.yaml"
        if (state_dir / "journal.json").is_file() and answers.is_file():
            found.append(PreviousInstall(state_dir.name, state_dir, answers, describe_install(state_dir)))
    return found


def find_drafts(*folders: Path) -> list[Path]:
    """Answers files the wizard saved as drafts in these folders, newest first."""
    from installer.answers import is_draft

    found: dict[Path, float] = {}
    for folder in folders:
        try:
            candidates = [p for p in Path(folder).iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()]
        except OSError:
            continue
        for path in candidates:
            try:
                with path.open("r", encoding="utf-8", errors="replace") as handle:
                    if is_draft(handle.read(512)):
                        found[path.resolve()] = path.stat().st_mtime
            except OSError:
                continue
    return sorted(found, key=lambda p: found[p], reverse=True)


class WizardState:
    """The draft answers file and everything needed to save it."""

    def __init__(self, answers_path: Path, draft: dict | None = None, tree: Any = None, catalog: Catalog | None = None,
                 state_dir: Path | None = None) -> None:
        self.answers_path = Path(answers_path).expanduser().absolute()
        self.draft: dict = draft if isinstance(draft, dict) else {"version": ANSWERS_VERSION}
        self.draft.setdefault("version", ANSWERS_VERSION)
        self.tree = tree
        self.catalog = catalog or Catalog()
        self.secrets = SecretHolder()
        self.state_dir = state_dir
        self.load_problems: list[Problem] = []
        self.resume = False
        self.previous: list[PreviousInstall] = []
        self.drafts: list[Path] = []
        self.saved: tuple[Path, str] | None = None  # where the answers were last saved, and their fingerprint then
        self.draft_page: str | None = None  # the page a loaded draft was saved on (its header says)

    @property
    def base_dir(self) -> Path:
        return self.answers_path.parent

    def load(self, path: Path) -> None:
        """Replace the draft with a file's content (it may be incomplete or invalid)."""
        from installer.answers import draft_page, is_draft

        tree, data = load_tree(path)
        self.answers_path = Path(path).expanduser().absolute()
        try:
            head = self.answers_path.read_text(encoding="utf-8", errors="replace")[:512]
        except OSError:
            head = ""
        draft = is_draft(head)
        self.draft_page = draft_page(head)
        # an operator's file keeps its comments when saved; a wizard draft is written afresh (no draft header)
        self.tree = None if draft else tree
        self.draft = copy.deepcopy(data) if isinstance(data, dict) else {"version": ANSWERS_VERSION}
        self.draft.setdefault("version", ANSWERS_VERSION)
        release = self.draft.get("release")
        if isinstance(release, dict) and isinstance(release.get("version"), str):
            # a file from when release.version held the bare version (2.9-lts): the page shows the profile's name
            release["version"] = canonical_release_name(release["version"], self.base_dir)

    def fingerprint(self) -> str:
        """Changes whenever an answer or a typed secret changes (a digest: it holds no secret)."""
        import hashlib
        import json

        text = json.dumps([str(self.answers_path), self.draft, sorted(self.secrets.values.items())], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def section(self, name: str) -> Any:
        return self.draft.get(name)

    def put(self, name: str, value: Any) -> None:
        if value is None:
            self.draft.pop(name, None)
        else:
            self.draft[name] = value

    def validate(self) -> Answers:
        """The whole draft through the loader's own validation (models and cross-section rules)."""
        answers = validate_data(copy.deepcopy(self.draft), filename=str(self.answers_path), base_dir=self.base_dir, tree=None)
        if self.saved is not None and self.saved[1] == self.fingerprint():
            answers.bind(self.saved[0], self.base_dir)  # the run's summary names the file it can be replayed from
        return answers

    def problems(self) -> list[Problem]:
        try:
            self.validate()
        except AnswersError as exc:
            return exc.problems
        return []

    def pages_needing_visit(self, named: list[str]) -> list[str]:
        """Pages with a missing or invalid section, plus those named (by page or section)."""
        pages = []
        rule_sections = {p.key_path.split(".")[0].split("[")[0] for p in self.problems()}
        for page, sections in PAGES.items():
            bad = page in named
            for section in sections:
                bad = bad or section in named or section in rule_sections or bool(self.section_problems(section))
            if bad:
                pages.append(page)
        return pages

    def section_problems(self, section: str) -> list[str]:
        """Why one section cannot stand as it is (missing, invalid, or naming an unknown profile)."""
        from installer.answers import Answers

        value = self.draft.get(section)
        if section == "name":
            return [e.message for e in name_errors(value)]
        if value is None:
            return [] if not Answers.model_fields[section].is_required() else ["missing"]
        problems = [e.message for e in section_errors(section, value, self.base_dir)]
        if section == "sizing" and isinstance(value, dict) and value.get("profile") not in self.catalog.sizing:
            problems.append(f"no sizing profile {value.get('profile')!r}")
        default_release = Release.model_fields["version"].default
        if section == "release" and isinstance(value, dict) and str(value.get("version", default_release)) not in self.catalog.releases:
            problems.append(f"no release profile {value.get('version')!r}")
        if not problems and section in ("release", "monitoring", "ci"):
            # A profile or a switch whose charts the folder lacks: the page that chose it checks it, so
            # --interactive visits that page rather than leaving it to validate and preflight.
            from screens.chart_checks import chart_errors

            try:
                problems += [e.message for e in chart_errors(section, value, self.draft, self.base_dir)]
            except ValueError:
                pass  # the section's own model refuses it; section_errors said so
        return problems

    # -- saving (called from worker threads)

    def save_draft(self, page: str | None = None) -> Path:
        """Write the draft as it stands, valid or not, so nothing typed is lost; `page` (the one the operator is
        on) is kept in its header, where continuing the draft reopens."""
        from installer.answers import dump_draft

        self.secrets.write(self.answers_path)
        write_private(self.answers_path, dump_draft(self.draft, page))
        self.tree = None  # the file is now a draft: finishing it writes a fresh file with its $schema line
        return self.answers_path

    def save(self) -> tuple[Answers, Path]:
        """Validate and save; an operator's own file keeps its comments, a draft is replaced whole."""
        from installer.answers import dump_yaml, save_answers
        from installer.answers import default_schema_ref

        answers = self.validate()
        self.secrets.write(self.answers_path)
        if self.tree is not None:
            path = save_answers(answers, self.answers_path, tree=self.tree)
        else:
            path = self.answers_path
            write_private(path, dump_yaml(answers, path, None, default_schema_ref(path)))
        self.saved = (Path(path), self.fingerprint())
        answers.bind(Path(path), self.base_dir)
        return answers, path


def name_errors(value: Any):
    """Errors of the top-level `name` field, from the Answers model itself."""
    from pydantic import ValidationError

    from installer.answers import problem_message
    from screens.questions import MISSING_MESSAGE, FieldError

    if value is None:
        return [FieldError((), "name", MISSING_MESSAGE, True)]
    try:
        Answers.model_validate({"version": ANSWERS_VERSION, "name": value})
    except ValidationError as exc:
        return [FieldError((), "name", problem_message(e), e["type"] == "missing")
                for e in exc.errors(include_url=False) if e["loc"][:1] == ("name",)]
    return []


def state_from_args(args: argparse.Namespace) -> WizardState:
    """Build the wizard state from the command line; raises AnswersError for an unreadable file."""
    path = Path(getattr(args, "answers", None) or DEFAULT_ANSWERS)
    state = WizardState(path, state_dir=Path(args.state_dir) if getattr(args, "state_dir", None) else None)
    if getattr(args, "answers", None) and path.exists():
        state.load(path)
    state.catalog = Catalog.load(state.base_dir)
    state.previous = find_previous_installs()
    state.drafts = find_drafts(Path.cwd(), state.base_dir)
    return state
