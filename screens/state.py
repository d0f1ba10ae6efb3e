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
from installer.profiles import ProfileError, ReleaseProfile, SizingProfile, release_profile, release_versions, sizing_profile, sizing_profile_names
from screens.form import SecretHolder
from screens.questions import section_errors

DEFAULT_ANSWERS = "answers.yaml"

# wizard page -> the answers sections it asks for
PAGES: dict[str, tuple[str, ...]] = {
    "target": ("name", "target"),
    "sizing": ("sizing",),
    "domain": ("domain",),
    "database": ("database", "registry"),
    "credentials": ("credentials", "config_repos"),
    "release": ("release",),
    "monitoring": ("monitoring", "ci"),
}


@dataclass
class Catalog:
    sizing: dict[str, SizingProfile] = field(default_factory=dict)
    releases: dict[str, ReleaseProfile] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, base_dir: Path | None) -> "Catalog":
        catalog = cls()
        for name in sizing_profile_names(base_dir):
            try:
                catalog.sizing[name] = sizing_profile(name, base_dir)
            except ProfileError as exc:
                catalog.problems.append(str(exc))
        for version in release_versions(base_dir):
            try:
                catalog.releases[version] = release_profile(version, base_dir)
            except ProfileError as exc:
                catalog.problems.append(str(exc))
        return catalog


@dataclass
class PreviousInstall:
    name: str
    state_dir: Path
    answers: Path
    outcome: str


def find_previous_installs(root: Path | None = None) -> list[PreviousInstall]:
    """Installs with a journal in the state root, newest first."""
    import json

    from installer.state import state_root

    root = root or state_root()
    found = []
    if not root.is_dir():
        return found
    for state_dir in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
        journal = state_dir / "journal.json"
        answers = state_dir / "answers.yaml"
        if journal.is_file() and answers.is_file():
            try:
                outcome = str(json.loads(journal.read_text(encoding="utf-8")).get("outcome", "unknown"))
            except (OSError, ValueError, AttributeError):
                outcome = "unreadable journal"
            found.append(PreviousInstall(state_dir.name, state_dir, answers, outcome))
    return found


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

    @property
    def base_dir(self) -> Path:
        return self.answers_path.parent

    def load(self, path: Path) -> None:
        """Replace the draft with a file's content (it may be incomplete or invalid)."""
        tree, data = load_tree(path)
        self.answers_path = Path(path).expanduser().absolute()
        self.tree = tree
        self.draft = copy.deepcopy(data) if isinstance(data, dict) else {"version": ANSWERS_VERSION}
        self.draft.setdefault("version", ANSWERS_VERSION)

    def section(self, name: str) -> Any:
        return self.draft.get(name)

    def put(self, name: str, value: Any) -> None:
        if value is None:
            self.draft.pop(name, None)
        else:
            self.draft[name] = value

    def validate(self) -> Answers:
        """The whole draft through the loader's own validation (models and cross-section rules)."""
        return validate_data(copy.deepcopy(self.draft), filename=str(self.answers_path), base_dir=self.base_dir, tree=None)

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
        if section == "release" and isinstance(value, dict) and str(value.get("version", "2.9-lts")) not in self.catalog.releases:
            problems.append(f"no release profile {value.get('version')!r}")
        return problems

    # -- saving (called from worker threads)

    def save_draft(self) -> Path:
        """Write the draft as it stands, valid or not, so nothing typed is lost."""
        import io

        from ruamel.yaml import YAML

        self.secrets.write(self.answers_path)
        yaml = YAML(typ="rt")
        yaml.indent(mapping=2, sequence=4, offset=2)
        stream = io.StringIO()
        stream.write("# draft saved by the wizard; finish it with ./install.sh --answers THIS_FILE --interactive\n")
        yaml.dump(self.draft, stream)
        write_private(self.answers_path, stream.getvalue())
        return self.answers_path

    def save(self) -> tuple[Answers, Path]:
        """Validate and save; an operator's own file keeps its comments, a draft is replaced whole."""
        from installer.answers import dump_yaml, save_answers
        from installer.answers.loader import default_schema_ref

        answers = self.validate()
        self.secrets.write(self.answers_path)
        if self.tree is not None:
            path = save_answers(answers, self.answers_path, tree=self.tree)
        else:
            path = self.answers_path
            write_private(path, dump_yaml(answers, path, None, default_schema_ref(path)))
        return answers, path


def name_errors(value: Any):
    """Errors of the top-level `name` field, from the Answers model itself."""
    from pydantic import ValidationError

    from installer.answers.loader import problem_message
    from screens.questions import FieldError

    if value is None:
        return [FieldError((), "name", "required key is missing", True)]
    try:
        Answers.model_validate({"version": ANSWERS_VERSION, "name": value})
    except ValidationError as exc:
        return [FieldError((), "name", problem_message(e), e["type"] == "missing") for e in exc.errors(include_url=False) if e["loc"][:1] == ("name",)]
    return []


def state_from_args(args: argparse.Namespace) -> WizardState:
    """Build the wizard state from the command line; raises AnswersError for an unreadable file."""
    path = Path(getattr(args, "answers", None) or DEFAULT_ANSWERS)
    state = WizardState(path, state_dir=Path(args.state_dir) if getattr(args, "state_dir", None) else None)
    if getattr(args, "answers", None) and path.exists():
        state.load(path)
    state.catalog = Catalog.load(state.base_dir)
    state.previous = find_previous_installs()
    return state
