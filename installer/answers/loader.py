"""The only way answers get in and out of files.

Every problem is reported at once as FILE:LINE:COL: key.path: message. The
YAML is read with ruamel's round-trip loader so that line numbers are known and
so that saving keeps an operator's comments and key order.
"""
from __future__ import annotations

import difflib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from installer.answers import models
from installer.answers.models import ANSWERS_VERSION, Answers
from installer.answers.rules import check_rules
from installer.files import UnreadableFile, atomic_write, read_regular

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000
SCHEMA_COMMENT = "yaml-language-server: $schema="
_TAGS = models.UNION_TAGS


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    col: int
    key_path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.key_path}: " if self.key_path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.col}: {prefix}{where}{self.message}"


class AnswersError(Exception):
    """The answers are invalid; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------- reading


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _decode(raw: bytes, filename: str) -> str:
    if b"\x00" in raw[:8192]:
        offset = raw.index(b"\x00")
        line, col = _position(raw, offset)
        raise AnswersError([Problem(filename, line, col, "", "this is a binary file, not YAML")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position(raw, exc.start)
        raise AnswersError([Problem(filename, line, col, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")]) from None


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    col = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, col


def _check_flow_depth(text: str, filename: str) -> None:
    """Refuse deeply nested [ { before parsing: the parser's time grows much faster than the depth."""
    depth = 0
    line, col = 1, 0
    quote = ""
    comment = False
    for char in text:
        col += 1
        if char == "\n":
            line, col, comment, quote = line + 1, 0, False, ""
            continue
        if comment:
            continue
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise AnswersError([Problem(filename, line, col, "", f"nesting is deeper than {MAX_DEPTH} levels")])
        elif char in "]}":
            depth = max(0, depth - 1)


def parse_yaml(text: str, filename: str) -> Any:
    """Parse YAML text into ruamel's round-trip tree, or raise AnswersError with the position."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    _check_flow_depth(text, filename)
    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise AnswersError([Problem(filename, line, col, "", f"invalid YAML: {message}")]) from None
    except RecursionError:
        raise AnswersError([Problem(filename, 1, 1, "", f"nesting is deeper than {MAX_DEPTH} levels")]) from None
    except YAMLError as exc:
        raise AnswersError([Problem(filename, 1, 1, "", f"invalid YAML: {exc}")]) from None


def to_plain(tree: Any, filename: str) -> Any:
    """Round-trip tree -> plain dict/list/scalars, bounded in depth and size."""
    count = 0

    def convert(node: Any, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > MAX_VALUES:
            raise AnswersError([Problem(filename, 1, 1, "", f"the file expands to more than {MAX_VALUES} values (YAML aliases?)")])
        if depth > MAX_DEPTH:
            line, col = _lc(node)
            raise AnswersError([Problem(filename, line, col, "", f"nesting is deeper than {MAX_DEPTH} levels")])
        if isinstance(node, dict):
            return {_key(k): convert(v, depth + 1) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [convert(v, depth + 1) for v in node]
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, str):
            return str(node)
        if hasattr(node, "isoformat"):
            return node.isoformat()
        if hasattr(node, "value"):
            return convert(node.value, depth + 1)
        return str(node)

    return convert(tree, 0)


def _key(key: Any) -> Any:
    return key if isinstance(key, (str, int)) and not isinstance(key, bool) else str(key)


def _lc(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, lc.col + 1
    return 1, 1


# ---------------------------------------------------------------- migration

# version -> function upgrading a plain document of that version by one step
_MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def migrate(data: dict) -> dict:
    """Bring an older document up to ANSWERS_VERSION, one version at a time."""
    version = data.get("version")
    while isinstance(version, int) and version < ANSWERS_VERSION and version in _MIGRATIONS:
        data = _MIGRATIONS[version](data)
        version = data.get("version")
    return data


# ---------------------------------------------------------------- validation


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            names.update(value.model_fields)
    return names


_FIELD_NAMES = _all_field_names()


def locate(tree: Any, loc: tuple) -> tuple[int, int, str]:
    """Map a pydantic error location onto (line, col, dotted key path) in the tree."""
    node = tree
    line, col = _lc(tree)
    parts: list[str] = []
    walking = True
    for part in loc:
        if walking and isinstance(node, dict):
            if part in node:
                try:
                    kl, kc = node.lc.key(part)
                    line, col = kl + 1, kc + 1
                except (AttributeError, KeyError, TypeError):
                    pass
                parts.append(str(part))
                node = node[part]
                continue
            if part in _TAGS and isinstance(part, str):
                continue
            walking = False
        elif walking and isinstance(node, list) and isinstance(part, int):
            if 0 <= part < len(node):
                try:
                    il, ic = node.lc.item(part)
                    line, col = il + 1, ic + 1
                except (AttributeError, KeyError, TypeError):
                    pass
                node = node[part]
            else:
                walking = False
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
            continue
        elif part in _TAGS and isinstance(part, str):
            continue
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    return line, col, ".".join(parts)


def problem_message(error: dict) -> str:
    """A pydantic error as the operator reads it (shared with the wizard)."""
    kind = error["type"]
    message = error["msg"]
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        close = difflib.get_close_matches(key, _FIELD_NAMES, n=1, cutoff=0.75)
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
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


def _error_loc(error: dict) -> tuple:
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
        line, col = _lc(tree)
        raise AnswersError([Problem(filename, line, col, "", f"expected a mapping of sections at the top, found {type(data).__name__}")])
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > ANSWERS_VERSION:
        line, col, path = locate(tree, ("version",))
        raise AnswersError([Problem(filename, line, col, path, f"version {version} is newer than this installer understands ({ANSWERS_VERSION}); upgrade the installer")])
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
            line, col, _ = locate(tree, _path_to_loc(path))
            problems.append(Problem(filename, line, col, path, message))
        raise AnswersError(sorted(_dedupe(problems), key=lambda p: (p.line, p.col))) from None
    answers.bind(None, base_dir)
    rule_problems = check_rules(answers, base_dir)
    if rule_problems:
        problems = []
        for path, message in rule_problems:
            line, col, _ = locate(tree, _path_to_loc(path))
            problems.append(Problem(filename, line, col, path, message))
        raise AnswersError(problems)
    return answers


def _control_characters(data: Any, filename: str, tree: Any) -> list[Problem]:
    """Every key or value holding a control character (ESC, newline, ...): none belongs in an answer,
    and one could rewrite the operator's terminal wherever the value is shown."""
    from installer.text import has_control

    problems: list[Problem] = []

    def walk(node: Any, loc: tuple) -> None:
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


def _valid_sections(data: dict, base_dir: Path) -> Any:
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


def _path_to_loc(path: str) -> tuple:
    loc: list[Any] = []
    for part in path.split("."):
        while "[" in part:
            head, _, rest = part.partition("[")
            if head:
                loc.append(head)
            index, _, part = rest.partition("]")
            loc.append(int(index))
        if part:
            loc.append(part)
    return tuple(loc)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple] = set()
    unique = []
    for problem in problems:
        key = (problem.line, problem.col, problem.key_path, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def load_tree(path: Path) -> tuple[Any, Any]:
    """Read a file into (round-trip tree, plain data), with every limit enforced."""
    path = Path(path)
    filename = str(path)
    try:
        raw = read_regular(path, MAX_BYTES)
    except UnreadableFile as exc:
        raise AnswersError([Problem(filename, 1, 1, "", str(exc))]) from None
    text = _decode(raw, filename)
    tree = parse_yaml(text, filename)
    return tree, to_plain(tree, filename)


def load_answers(path: str | os.PathLike) -> Answers:
    """Load and fully validate an answers file."""
    path = Path(path).expanduser()
    tree, data = load_tree(path)
    resolved = path.resolve()  # load_tree has opened it: no symlink loop left to trip over
    answers = validate_data(data, filename=str(path), base_dir=resolved.parent, tree=tree).bind(resolved)
    problems = file_type_problems(answers, str(path), tree)
    if problems:
        raise AnswersError(problems)
    return answers


def load_or_report(path: str | os.PathLike, stream: Any = None) -> Answers | None:
    """For commands: the answers, or None after printing every problem (the caller exits 2)."""
    import sys

    try:
        return load_answers(path)
    except AnswersError as exc:
        for problem in exc.problems:
            print(problem, file=stream or sys.stderr)
        return None


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
        line, col, _ = locate(tree, _path_to_loc(key_path)) if tree is not None and key_path else (1, 1, "")
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
            if type(value).__name__ == "SecretRef" and value.file is not None:
                found.append((f"{path}.file", value.path(answers.base_dir)))
        elif isinstance(value, Path):
            found.append((path, value))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(answers, "")
    return found


# ---------------------------------------------------------------- writing


def answers_to_data(answers: Answers, base_dir: Path | None = None) -> dict:
    """Plain data for saving: what was set (defaults stay implicit); paths below `base_dir` relative to it."""
    context = {"base_dir": str(base_dir)} if base_dir else None
    return answers.model_dump(mode="json", exclude_none=True, exclude_unset=True, context=context)


def _merge(tree: Any, data: Any) -> Any:
    """Write `data` into the round-trip tree in place, keeping comments and order."""
    if isinstance(tree, dict) and isinstance(data, dict):
        for key in [k for k in tree if k not in data]:
            del tree[key]
        for key, value in data.items():
            tree[key] = _merge(tree[key], value) if key in tree else value
        return tree
    if isinstance(tree, list) and isinstance(data, list) and len(tree) == len(data):
        for index, value in enumerate(data):
            tree[index] = _merge(tree[index], value)
        return tree
    return data


def dump_yaml(answers: Answers, path: Path | None = None, tree: Any = None, schema_ref: str | None = None) -> str:
    base_dir = Path(path).resolve().parent if path else answers.base_dir
    data = answers_to_data(answers, base_dir)
    document = _merge(tree, data) if tree is not None else data
    if tree is None:
        from ruamel.yaml.comments import CommentedMap

        document = CommentedMap(data)
        if schema_ref:
            document.yaml_set_start_comment(f"{SCHEMA_COMMENT}{schema_ref}")
    stream = io.StringIO()
    _yaml().dump(document, stream)
    return stream.getvalue()


DRAFT_COMMENT = "draft saved by the wizard; finish it with ./install.sh --answers THIS_FILE --interactive"


def dump_draft(data: Any) -> str:
    """An unfinished answers document (it may not validate) with the loader's YAML settings and a draft header."""
    from ruamel.yaml.comments import CommentedMap

    document = CommentedMap(data) if isinstance(data, dict) else data
    stream = io.StringIO()
    stream.write(f"# {DRAFT_COMMENT}\n")
    _yaml().dump(document, stream)
    return stream.getvalue()


def is_draft(text: str) -> bool:
    """Whether a document starts with the draft header (a finished save replaces it with the $schema line)."""
    return text.lstrip().startswith(f"# {DRAFT_COMMENT}")


def write_private(path: Path, text: str) -> None:
    """Atomically replace `path` with `text`, mode 0600 from the first byte."""
    atomic_write(path, text, 0o600)


def save_answers(answers: Answers, path: str | os.PathLike, *, tree: Any = None, schema_ref: str | None = None) -> Path:
    """Save atomically with mode 0600; with the loaded `tree`, comments and order survive."""
    path = Path(path).expanduser()
    if tree is None and path.exists():
        try:
            tree, _ = load_tree(path)
        except AnswersError:
            tree = None
    if schema_ref is None and tree is None:
        schema_ref = default_schema_ref(path)
    write_private(path, dump_yaml(answers, path, tree, schema_ref))
    return path


def default_schema_ref(path: Path) -> str:
    schema = Path(__file__).resolve().parent.parent.parent / "assets" / "answers.schema.json"
    try:
        return os.path.relpath(schema, Path(path).resolve().parent)
    except ValueError:
        return str(schema)


def json_schema() -> dict:
    schema = Answers.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:digit-installer:answers:v1"
    schema["title"] = "DIGIT installer answers file"
    return schema
