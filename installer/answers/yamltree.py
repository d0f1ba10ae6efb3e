"""Reading the answers YAML with positions: bounded parsing (ruamel round trip), plain data, and
FILE:LINE:COL for any key path."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel

from installer.answers import models
from installer.answers.problems import AnswersError, Problem
from installer.files import UnreadableFile, read_regular

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq


MAX_BYTES = 1024 * 1024



MAX_DEPTH = 64



MAX_VALUES = 100_000



_TAGS = models.UNION_TAGS



def ruamel_yaml() -> YAML:
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
        raise AnswersError([Problem(filename, line, col, "",
                                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")]) from None



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
        return ruamel_yaml().load(text)
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
            line, col = node_position(node)
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



def node_position(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return lc.line + 1, lc.col + 1
    return 1, 1



def _all_field_names() -> set[str]:
    names: set[str] = set()
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            names.update(value.model_fields)
    return names



FIELD_NAMES = _all_field_names()



def locate(tree: Any, loc: tuple[Any, ...]) -> tuple[int, int, str]:
    """Map a pydantic error location onto (line, col, dotted key path) in the tree."""
    node = tree
    line, col = node_position(tree)
    parts: list[str] = []
    walking = True
    for part in loc:
        if walking and isinstance(node, dict):
            if part in node:
                try:
                    kl, kc = cast("CommentedMap", node).lc.key(part)
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
                    il, ic = cast("CommentedSeq", node).lc.item(part)
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



def path_to_loc(path: str) -> tuple[Any, ...]:
    loc: list[Any] = []
    for segment in path.split("."):
        part = segment
        while "[" in part:
            head, _, rest = part.partition("[")
            if head:
                loc.append(head)
            index, _, part = rest.partition("]")
            loc.append(int(index))
        if part:
            loc.append(part)
    return tuple(loc)



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
