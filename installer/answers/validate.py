"""Validating answers data against the models and the cross-section rules, every problem at once, and the
warnings about referenced files."""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from installer.answers import models
from installer.answers.migrate import migrate
from installer.answers.models import ANSWERS_VERSION, Answers
from installer.answers.problems import AnswersError, Problem, dedupe
from installer.answers.refs import SecretRef
from installer.answers.rules import check_rules
from installer.answers.yamltree import FIELD_NAMES, node_position, path_to_loc, locate


def problem_message(error: Mapping[str, Any]) -> str:
    """A pydantic error as the operator reads it (shared with the wizard)."""
    kind = error["type"]
    message: str = error["msg"]
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        close = difflib.get_close_matches(key, FIELD_NAMES, n=1, cutoff=0.75)
        return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"{ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        ctx = error.get("ctx", {})
        return f"{ctx.get('discriminator', 'kind').strip(chr(39))} is missing"
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message



def _error_loc(error: Mapping[str, Any]) -> tuple[Any, ...]:
    loc = tuple(error["loc"])
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = error.get("ctx", {}).get("discriminator", "'kind'").strip("'")
        loc = loc + (discriminator,)
    return loc



def validate_data(data: Any, *, filename: str = "<answers>", base_dir: Path | None = None, tree: Any = None) -> Answers:
    """Validate a plain document (and the cross-section rules); raise AnswersError listing every problem."""
    base_dir = Path(base_dir or Path.cwd()).resolve()
    tree = data if tree is None else tree
    if data is None:
        raise AnswersError([Problem(filename, 1, 1, "", f"the file is empty: expected a mapping starting with version: {ANSWERS_VERSION}")])
    if not isinstance(data, dict):
        line, col = node_position(tree)
        raise AnswersError([Problem(filename, line, col, "", f"expected a mapping of sections at the top, found {type(data).__name__}")])
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > ANSWERS_VERSION:
        line, col, path = locate(tree, ("version",))
        raise AnswersError([Problem(filename, line, col, path, f"version {version} is newer than this installer "
                                    f"understands ({ANSWERS_VERSION}); upgrade the installer")])
    data = migrate(data)
    control = _control_characters(data, filename, tree)
    if control:
        raise AnswersError(control)
    try:
        answers = Answers.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            line, col, path = locate(tree, _error_loc(error))
            problems.append(Problem(filename, line, col, path, problem_message(error)))
        for path, message in check_rules(_valid_sections(data, base_dir), base_dir):
            line, col, _ = locate(tree, path_to_loc(path))
            problems.append(Problem(filename, line, col, path, message))
        raise AnswersError(sorted(dedupe(problems), key=lambda p: (p.line, p.col))) from None
    answers.bind(None, base_dir)
    rule_problems = check_rules(answers, base_dir)
    if rule_problems:
        problems = []
        for path, message in rule_problems:
            line, col, _ = locate(tree, path_to_loc(path))
            problems.append(Problem(filename, line, col, path, message))
        raise AnswersError(problems)
    return answers



def _control_characters(data: Any, filename: str, tree: Any) -> list[Problem]:
    """Every key or value holding a control character (ESC, newline, ...): none belongs in an answer,
    and one could rewrite the operator's terminal wherever the value is shown."""
    from installer.text import has_control

    problems: list[Problem] = []

    def walk(node: Any, loc: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and has_control(key):
                    line, col, path = locate(tree, loc)
                    problems.append(Problem(filename, line, col, path, f"a key holds a control character: {key!r}"))
                walk(value, loc + (key,))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, loc + (index,))
        elif isinstance(node, str) and has_control(node):
            line, col, path = locate(tree, loc)
            problems.append(Problem(filename, line, col, path,
                                    f"control characters are not allowed here: {node!r}"))

    walk(data, ())
    return problems



def _valid_sections(data: dict[str, Any], base_dir: Path) -> Any:
    """The sections of a broken document that validate on their own (others None), for the rules."""
    from types import SimpleNamespace

    from pydantic import TypeAdapter

    sections = {}
    for name, model in models.SECTION_MODELS.items():
        try:
            sections[name] = TypeAdapter(model).validate_python(data[name], context={"base_dir": base_dir}) if name in data else None
        except (ValidationError, TypeError):
            sections[name] = None
    if sections.get("monitoring") is None and "monitoring" not in data:
        sections["monitoring"] = models.Monitoring()
    return SimpleNamespace(**sections)



# Files whose content is a credential: readable by others, they deserve the warning ssh gives for keys.
_CREDENTIAL_PATHS = ("target.kubeconfig",)



def file_warnings(answers: Answers, filename: str = "<answers>", tree: Any = None) -> list[Problem]:
    """What is wrong with the files the answers reference, without refusing the file for it.

    Warnings: a file that does not exist (yet); a secret, key or kubeconfig, or the answers
    file itself, that other users can read. Errors (severity "error"): a path that is a
    device, a FIFO, a socket or a symlink loop: the operator's files are trusted for their
    content, not for their type.
    """
    problems = []

    def where(key_path: str) -> tuple[int, int]:
        line, col, _ = locate(tree, path_to_loc(key_path)) if tree is not None and key_path else (1, 1, "")
        return line, col

    source = getattr(answers, "source_path", None)
    if source is not None and (mode := _others_can_read(Path(source))) is not None:
        problems.append(Problem(filename, 1, 1, "", f"others can read this file (mode {mode:04o}); it names where "
                                f"every secret is: chmod 600 {source}", "warning"))
    secret_paths = {key for key, _ in referenced_paths(answers) if key.endswith(".file")}
    for key_path, file_path in referenced_paths(answers):
        line, col = where(key_path)
        kind = _special_kind(file_path)
        if kind == "missing":
            problems.append(Problem(filename, line, col, key_path, f"{file_path} does not exist", "warning"))
        elif kind:
            problems.append(Problem(filename, line, col, key_path, f"{file_path} is {kind}, not a regular file"))
        elif key_path in secret_paths or key_path in _CREDENTIAL_PATHS:
            mode = _others_can_read(file_path)
            if mode is not None:
                problems.append(Problem(filename, line, col, key_path, f"{file_path} holds a secret and others can read "
                                        f"it (mode {mode:04o}): chmod 600 {file_path}", "warning"))
    return problems



def _special_kind(path: Path) -> str | None:
    """'missing', a description of a path that is not a regular file or folder, or None when it is fine."""
    import errno
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop"
        return None
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return None
    if stat.S_ISFIFO(st.st_mode):
        return "a FIFO"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(st.st_mode) else "a special file"



def _others_can_read(path: Path) -> int | None:
    """The file's mode when a group or other users can read it, else None."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return None
    return mode if mode & 0o044 else None



def file_type_problems(answers: Answers, filename: str = "<answers>", tree: Any = None) -> list[Problem]:
    """The errors of file_warnings: referenced paths that must not be opened at all."""
    return [p for p in file_warnings(answers, filename, tree) if p.severity == "error"]



def referenced_paths(answers: Answers) -> list[tuple[str, Path]]:
    """Every file or folder the answers point at, with the key that names it."""
    found: list[tuple[str, Path]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), f"{path}.{name}" if path else name)
            if isinstance(value, SecretRef) and value.file is not None:
                resolved = value.path(answers.base_dir)
                assert resolved is not None  # a reference with a file has a path
                found.append((f"{path}.file", resolved))
        elif isinstance(value, Path):
            found.append((path, value))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(answers, "")
    return found
