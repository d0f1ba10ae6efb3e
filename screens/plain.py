"""Line mode: the same questions as the full-screen wizard, one at a time, with questionary.

For terminals that cannot run the TUI (TERM=dumb, a serial console, some jump
hosts) or when asked with --plain. The questions come from the same tree
(screens.questions) and every answer is checked by the same models.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

from installer.answers import Answers, AnswersError
from screens.chart_checks import chart_errors
from screens.questions import UNION_TAGS, Loc, Question, get_in, key_path, section_errors, section_question, top_level_question
from screens.state import PAGES, WizardState, name_errors, state_from_args

PAGE_TITLES = {
    "target": "Target: where DIGIT will run",
    "sizing": "Sizing",
    "domain": "Domain and TLS",
    "database": "Database and registry mirror",
    "credentials": "Credentials and config repos",
    "release": "Release and modules",
    "monitoring": "Monitoring and CI",
}
SECRET_CHOICES = {
    "env": "an environment variable",
    "file": "a file",
    "generate": "generate it (the installer creates and keeps it)",
    "type": "type it now (kept in a separate 0600 file, never in the answers file)",
}
ITEM_COLUMNS = ("name", "host", "role", "port", "user")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and value.get("generate"):
        return "generated"
    return "none" if value is None else str(value)


def terminal_width() -> int:
    """The width line mode wraps its own lines to: the terminal's, less one (a full line would wrap by itself)."""
    import shutil

    return max(40, shutil.get_terminal_size((80, 24)).columns - 1)


def wrap(text: str, indent: str = "  ") -> str:
    """Help text wrapped at word boundaries to the terminal's width (a terminal wraps mid-word)."""
    import textwrap

    return textwrap.fill(text, width=terminal_width(), initial_indent=indent, subsequent_indent=indent + " ",
                         break_long_words=False, break_on_hyphens=False)


class Cancelled(Exception):
    """The operator pressed Ctrl+C at a question."""


def _data_path(loc: Loc) -> list:
    from screens.questions import UNION_TAGS

    return [p for p in loc if not (isinstance(p, str) and p in UNION_TAGS)]


def _set_in(data: dict, path: list, value: Any) -> None:
    node: Any = data
    for index, part in enumerate(path[:-1]):
        following = path[index + 1]
        if isinstance(node, dict):
            node = node.setdefault(part, [] if isinstance(following, int) else {})
        else:
            while len(node) <= part:
                node.append({})
            node = node[part]
    last = path[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append({})
    node[last] = value


def _del_in(data: dict, path: list) -> None:
    node: Any = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


class LineWizard:
    """Asks every question of the chosen pages and saves the answers file."""

    def __init__(self, state: WizardState, output=None) -> None:
        import questionary

        self.q = questionary
        self.state = state
        self.out = output or sys.stdout
        self.partial: tuple[str, Any] | None = None  # the section being asked and its answers so far
        self.greeted = False
        self.installs: Any = None  # the installs there are to upgrade (begin)

    # -- prompting

    def say(self, text: str = "") -> None:
        """A line for the operator, wrapped at spaces to the terminal (a terminal would cut words); a line
        naming a path or a command is left whole, so it is copied and matched as one."""
        from installer.app.closing import fit_to_terminal

        self.out.write((text if "/" in text else fit_to_terminal(text, terminal_width())) + "\n")
        self.out.flush()

    def _ask(self, prompt) -> Any:
        try:
            return prompt.unsafe_ask()
        except KeyboardInterrupt:
            raise Cancelled() from None

    def _check(self, section: str, data: Any, loc: Loc):
        def check(text: str) -> bool | str:
            trial = copy.deepcopy(data)
            path = _data_path(loc)
            if text.strip() == "":
                if path:
                    _del_in(trial, path)
                else:
                    trial = None
            elif path:
                _set_in(trial, path, text.strip())
            else:
                trial = text.strip()
            errors = name_errors(trial) if section == "name" else section_errors(section, trial, self.state.base_dir)
            mine = [e for e in errors if e.loc == loc]
            return mine[0].message if mine else True

        return check

    def ask_section(self, section: str, current: Any) -> Any:
        question = top_level_question("name") if section == "name" else section_question(section)
        data = copy.deepcopy(current) if current is not None else ({} if section != "name" and not question.optional else None)
        self.partial = (section, data)
        while True:
            if section == "name":
                data = self.ask_leaf(section, question, data, data)
            elif question.kind == "group" and question.optional:
                data = self.ask_group(section, question, data, data)
            elif question.kind == "union":
                data = self.ask_union(section, question, data if isinstance(data, dict) else {})
            else:
                data = self.ask_group(section, question, data if isinstance(data, dict) else {}, data)
            errors = name_errors(data) if section == "name" else section_errors(section, data, self.state.base_dir)
            if section == "registry" and data is None:
                errors = []
            if not errors and section != "name":
                # as the Release and Monitoring pages: a profile or a switch whose charts the folder lacks
                errors = chart_errors(section, data, self.state.draft, self.state.base_dir)
            if not errors:
                return data
            self.say("These answers are not valid yet:")
            for error in errors:
                self.say(f"  ✗ {error.key}: {error.message}")
            self.say("Please answer this part again (your answers so far are the defaults).")

    def ask_union(self, section: str, question: Question, root: dict) -> dict:
        """Ask which kind, then that kind's fields; returns the (possibly new) section root."""
        current = (get_in(root, question.loc) if question.loc else root) or {}
        choices = [self.q.Choice(f"{tag}: {(v.help or tag).split(';')[0].split('. ')[0]}" + (f" ({v.note})" if v.note else ""), value=tag)
                   for tag, v in question.variants.items()]
        default_tag = current.get(question.discriminator) if current.get(question.discriminator) in question.variants else question.default
        self._help(question)
        tag = self._ask(self.q.select(question.title, choices=choices, default=next(c for c in choices if c.value == default_tag)))
        if tag != current.get(question.discriminator):
            current = {question.discriminator: tag}
            if question.loc:
                _set_in(root, _data_path(question.loc), current)
            else:
                root = current
                if self.partial is not None:
                    self.partial = (self.partial[0], root)
        return self.ask_group(section, question.variants[tag], root, current)

    def ask_group(self, section: str, question: Question, root: Any, current: Any) -> Any:
        """Ask a group's fields; `root` is the whole section's data (for validation), updated in place."""
        own = get_in(root, question.loc) if question.loc else root
        if question.optional:
            self._help(question)
            # machines listed need a way in: offer SSH access by default then
            needed = question.name == "ssh" and bool((root or {}).get("nodes") if isinstance(root, dict) else False)
            use = self._ask(self.q.confirm(f"Use {question.title.lower()}?", default=own is not None or needed))
            if not use:
                if question.loc:
                    _del_in(root, _data_path(question.loc))
                    return root
                return None
            if own is None:
                own = {}
                if question.loc:
                    _set_in(root, _data_path(question.loc), own)
                else:
                    root = own
        is_variant = bool(question.loc) and isinstance(question.loc[-1], str) and question.loc[-1] in UNION_TAGS
        if (question.children and not is_variant and not question.required and not question.optional
                and all(not c.required for c in question.children)):
            existing = get_in(root, question.loc) if question.loc else root
            defaults = ", ".join(f"{c.title}: {_shown(c.default)}" for c in question.children[:4] if c.kind != "group")
            now = f" (now: {defaults}{', ...' if len(question.children) > 4 else ''})" if defaults and not existing else ""
            if not self._ask(self.q.confirm(f"Change {question.title}?" + now,
                                            default=False)):
                return root
        if question.loc and get_in(root, question.loc) is None:
            _set_in(root, _data_path(question.loc), {})
        if question.loc:
            self.say(f"— {question.title} —")
        for child in question.children:
            if child.kind == "group":
                root = self.ask_group(section, child, root, get_in(root, child.loc))
            elif child.kind == "union":
                root = self.ask_union(section, child, root)
            elif child.kind == "items":
                self.ask_items(section, child, root)
            else:
                value = self.ask_leaf(section, child, root, get_in(root, child.loc))
                path = _data_path(child.loc)
                if value is None:
                    _del_in(root, path)
                else:
                    _set_in(root, path, value)
        if question.loc and get_in(root, question.loc) == {} and not question.required:
            _del_in(root, _data_path(question.loc))
        return root

    def ask_items(self, section: str, question: Question, root: dict) -> None:
        path = _data_path(question.loc)
        items = list(get_in(root, question.loc) or [])
        self._help(question)
        if items:
            self.say(f"{question.title}:")
            for item in items:
                self.say("  " + ", ".join(f"{k}={item.get(k)}" for k in ITEM_COLUMNS if item.get(k) is not None))
            if self._ask(self.q.confirm(f"Keep these {len(items)}?", default=True)):
                return
            items = []
        _set_in(root, path, items)
        assert question.item is not None
        while True:
            if (items or not question.required) and not self._ask(
                    self.q.confirm(f"Add {'another' if items else 'a'} node?", default=not items and question.required)):
                break
            index = len(items)
            items.append({})
            self.say(f"— node {index + 1} —")
            for column in question.item.children:
                if column.name not in ITEM_COLUMNS:
                    continue
                loc = (*question.loc, index, column.name)
                leaf = Question(**{**column.__dict__, "loc": loc})
                value = self.ask_leaf(section, leaf, root, None)
                if value is not None:
                    items[index][column.name] = value
            if not question.required and not items:
                break
        if not items and not question.required:
            _del_in(root, path)

    def _help(self, question: Question) -> None:
        if question.help:
            self.say(wrap(f"({question.help})"))

    def ask_leaf(self, section: str, question: Question, root: Any, current: Any) -> Any:
        q = question
        self._help(q)
        title = q.title + ("" if q.required else " (optional)")
        if section == "sizing" and q.loc == ("profile",):
            q = Question(**{**q.__dict__, "kind": "choice", "choices": tuple(self.state.catalog.sizing)})
        if section == "release" and q.loc == ("version",):
            q = Question(**{**q.__dict__, "kind": "choice", "choices": tuple(self.state.catalog.releases)})
        if section == "release" and q.loc == ("modules",):
            return self.ask_modules(root, current)
        if q.kind == "map":
            return self.ask_host_keys(root, current)
        if q.kind == "bool":
            default = bool(current if current is not None else q.default)
            answer = self._ask(self.q.confirm(title, default=default))
            return None if current is None and answer == q.default else answer
        if q.kind == "choice":
            choices = list(q.choices) + ([] if q.required else ["(none)"])
            default = current if current in q.choices else (q.default if q.default in q.choices else None)
            answer = self._ask(self.q.select(title, choices=choices, default=default))
            if answer == "(none)" or (current is None and answer == q.default):
                return None
            return answer
        if q.kind == "secret":
            return self.ask_secret(section, q, root, current)
        shown = current if current is not None else q.default
        text = ", ".join(shown) if isinstance(shown, list) else ("" if shown is None else str(shown))
        if isinstance(shown, dict) and "file" in shown:
            text = str(shown["file"])
        check = self._check(section, root, q.loc)
        while True:
            # checked after Enter, so a refused value is not left in the prompt to be erased by hand
            answer = self._ask(self.q.text(title, default=text)).strip()
            verdict = check(answer)
            if verdict is True:
                break
            self.say(f"  ✗ {answer}: {verdict}" if answer else f"  ✗ {verdict}")
        if answer == "":
            return None
        if q.kind == "strlist":
            return [part.strip() for part in answer.split(",") if part.strip()]
        if current is None and q.default is not None and answer == str(q.default):
            return None
        return answer

    def ask_secret(self, section: str, q: Question, root: Any, current: Any) -> Any:
        modes = ["env", "file"] + (["generate"] if q.allow_generate else []) + ["type"]
        choices = [self.q.Choice(SECRET_CHOICES[m], value=m) for m in modes] + ([] if q.required else [self.q.Choice("none", value="none")])
        default = None
        if isinstance(current, dict):
            default = next((m for m in ("env", "file", "generate") if current.get(m)), None)
        elif q.allow_generate:
            default = "generate"
        mode = self._ask(self.q.select(f"{q.title}: where does it come from?", choices=choices,
                                       default=next((c for c in choices if c.value == default), None)))
        if mode == "none":
            return None
        if mode == "generate":
            return None if current is None and q.allow_generate else {"generate": True}
        key = key_path((section, *q.loc))
        from installer.keys import PRIVATE_KEY_FIELDS, private_key_file_problem, private_key_problem

        is_key = key in PRIVATE_KEY_FIELDS
        if mode == "type":
            while True:
                value = self._ask(self.q.password(f"{q.title} (not shown)", multiline=is_key) if is_key
                                  else self.q.password(f"{q.title} (not shown)"))
                problem = private_key_problem(value) if is_key and value else None
                if value and not problem:
                    break
                self.say(f"  ✗ {problem}" if problem else "  ✗ nothing was typed")
            self.state.secrets.put(key, value)
            reference = self.state.secrets.file_for(key, self.state.answers_path)
            self.say(f"  it will be written to {reference} (mode 0600) when the answers are saved")
            return {"file": reference}
        self.state.secrets.put(key, "")
        label = "Variable name" if mode == "env" else "File path (relative to the answers file)"
        existing = str(current.get(mode, "")) if isinstance(current, dict) and current.get(mode) else ""

        def check(text: str) -> bool | str:
            if not text.strip():
                return "required"
            trial = copy.deepcopy(root)
            _set_in(trial, _data_path(q.loc), {mode: text.strip()})
            errors = section_errors(section, trial, self.state.base_dir)
            mine = [e for e in errors if e.loc[: len(q.loc)] == q.loc]
            if not mine and is_key and mode == "file":
                path = Path(text.strip()).expanduser()
                return private_key_file_problem(path if path.is_absolute() else self.state.base_dir / path) or True
            return mine[0].message if mine else True

        answer = self._ask(self.q.text(f"{q.title}: {label}", default=existing, validate=check))
        return {mode: answer.strip()}

    def ask_modules(self, root: Any, current: Any) -> Any:
        from installer.answers.models import Release

        version = (root or {}).get("version") or Release.model_fields["version"].default
        profile = self.state.catalog.releases.get(str(version))
        if profile is None:
            return current
        chosen = current if current is not None else [m for m in profile.default_modules
                                                      if profile.module(m) and profile.module(m).selectable]
        choices = [self.q.Choice(f"{m.name}: {m.description}", value=m.name, checked=m.name in chosen)
                   for m in profile.modules if m.selectable]
        picked = self._ask(self.q.checkbox("Modules to deploy (space toggles)", choices=choices))
        full = profile.with_dependencies(picked)
        added = [m for m in full if m not in picked]
        for name in added:
            module = profile.module(name)
            needed_by = [m for m in full if name in (profile.module(m).depends if profile.module(m) else [])]
            self.say(f"  + {name}, needed by {', '.join(needed_by)}: {module.description if module else ''}")
        picked = [m for m in full if m in picked or (profile.module(m) and profile.module(m).selectable)]
        if current is None and picked == chosen:
            return None
        return picked

    def ask_host_keys(self, root: Any, current: Any) -> Any:
        from screens.hostkeys import changed_key_warning, fetch_fingerprint

        pinned = dict(current or {})
        nodes = (root or {}).get("nodes") or []
        if not nodes:
            return pinned or None
        if not self._ask(self.q.confirm("Read the nodes' SSH host keys now, to confirm and pin them?", default=False)):
            return pinned or None
        ssh = (root or {}).get("ssh") or {}
        port = int(ssh.get("port") or 22)
        known = ssh.get("known_hosts")
        known_hosts = self.state.base_dir / known if isinstance(known, str) and known else None
        for node in nodes:
            host = node.get("host")
            if not host:
                continue
            result = fetch_fingerprint(host, int(node.get("port") or port), float(ssh.get("connect_timeout") or 10),
                                       {str(k): str(v) for k, v in pinned.items()}, known_hosts)
            if result.error:
                self.say(f"  ✗ {host}: {result.error}")
                continue
            if result.changed:
                # the same words as the Target page; pinning again takes the host's name typed, not a default
                self.say(f"  ✗ {changed_key_warning(result)}")
                typed = self._ask(self.q.text(f"To pin the new key of {host}, type {host} (Enter keeps the trusted key):"))
                if (typed or "").strip() == host:
                    pinned[host] = result.fingerprint
                else:
                    self.say(f"  the trusted key of {host} is kept; the install refuses this machine until they match")
                continue
            if self._ask(self.q.confirm(f"{host} presents {result.key_type} {result.fingerprint}. Is that right?", default=False)):
                pinned[host] = result.fingerprint
        return pinned or None

    def keep_partial(self) -> None:
        """What was answered of the section being asked when Ctrl+C came goes into the draft too."""
        if self.partial is None:
            return
        section, data = self.partial
        if data not in (None, {}, ""):
            self.state.put(section, copy.deepcopy(data))

    # -- the run

    def greet(self, note: str) -> None:
        if not self.greeted:
            self.say(f"DIGIT installer — line mode. {note}")
            self.greeted = True

    def begin(self) -> str:
        """Install or upgrade: asked only when there is an install to upgrade (as the wizard's welcome page finds
        them; an uninstalled one is not offered), and not when an answers file was named to edit (run). Returns
        "install", "upgrade" or "" (Ctrl+C)."""
        from screens.plain_upgrade import INSTALL, NOTHING_CHANGED, UPGRADE
        from screens.upgrade.installs import find_installs

        try:
            self.installs = find_installs(self.state)
            if not self.installs.found:
                return "install"
            self.greet("Ctrl+C at a question stops; nothing changes before the last question.")
            mode = self._ask(self.q.select("What do you want to do?", choices=[INSTALL, UPGRADE], default=INSTALL))
        except (Cancelled, KeyboardInterrupt):  # at the question, or while the installs are looked for
            self.say("")
            self.say(NOTHING_CHANGED)
            return ""
        return "upgrade" if mode == UPGRADE else "install"

    def upgrade(self) -> int:
        from screens.plain_upgrade import LineUpgrade

        assert self.installs is not None
        return LineUpgrade(self, self.installs).run()

    def run(self, pages: list[str]) -> int:
        state = self.state
        draft_note = "Ctrl+C stops (you will be asked whether to keep a draft)."
        self.say(draft_note) if self.greeted else self.greet(draft_note)
        self.say(f"The answers will be saved to {state.answers_path}")
        for problem in state.catalog.problems:
            self.say(f"  warning: a profile could not be read and is not offered: {problem}")
        try:
            while True:
                for page in pages:
                    self.say("")
                    self.say(f"== {PAGE_TITLES[page]} ==")
                    for section in PAGES[page]:
                        value = self.ask_section(section, state.section(section))
                        self.partial = None
                        if value == {} and not Answers.model_fields[section].is_required():
                            value = None
                        state.put(section, value)
                problems = state.problems()
                if not problems:
                    break
                self.say("")
                self.say("The answers do not fit together yet:")
                for problem in problems:
                    self.say(f"  ✗ {problem.key_path}: {problem.message}")
                bad = {p.key_path.split(".")[0].split("[")[0] for p in problems}
                pages = [page for page, sections in PAGES.items() if bad & set(sections)] or list(PAGES)
            from installer.answers import dump_yaml

            answers = state.validate()
            self.say("")
            self.say("== Review ==")
            self.say(dump_yaml(answers, state.answers_path))
            where = self._ask(self.q.text("Save the answers file to", default=str(state.answers_path)))
            state.answers_path = Path(where.strip() or state.answers_path).expanduser().absolute()
            _answers, path = state.save()
        except (Cancelled, KeyboardInterrupt):  # at a question, or while the answers are checked or saved
            self.say("")
            self.keep_partial()
            try:
                keep = self.q.confirm("Save a draft of the answers so far?", default=True).unsafe_ask()
            except KeyboardInterrupt:
                keep = False
            if keep:
                self.say(f"draft saved to {state.save_draft()}")
            return 130
        except AnswersError as exc:
            for problem in exc.problems:
                self.say(f"  ✗ {problem}")
            return 2
        written = len(state.secrets.values)
        self.say(f"Saved {path}" + (f" and {written} typed secret(s) under {path.stem}.secrets/ (mode 0600)" if written else ""))
        from installer.invocation import install_sh

        self.say(f"Install with: {install_sh()} --answers {path}")
        return 0


def run(args: argparse.Namespace) -> int:
    try:
        state = state_from_args(args)
    except AnswersError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    pages = list(PAGES)
    if getattr(args, "interactive", False) and getattr(args, "answers", None):
        named = [s.strip() for s in (getattr(args, "sections", None) or "").split(",") if s.strip()]
        pages = state.pages_needing_visit(named)
    wizard = LineWizard(state)
    # --interactive --answers FILE: the operator came to edit (and install from) that file; nothing else is asked
    mode = "install" if getattr(args, "answers", None) else wizard.begin()
    if mode == "upgrade":
        return wizard.upgrade()
    return wizard.run(pages) if mode else 130
