"""A careful reader of the top-level blocks of Terraform files (HCL native syntax), not a full HCL parser.

No HCL2 parser is installed with the installer (python-hcl2 would bring lark); the stack contract
only needs to know which `variable`, `output` and `terraform { backend }` blocks a folder of `.tf`
files declares, and a few top-level attributes of each (`default`, `sensitive`, `type`). This reader
walks the text once, skipping comments (`#`, `//`, `/* */`), quoted strings (with `${...}`
templates) and heredocs (`<<EOF`, `<<-EOF`), and keeps brace depth, so a `{` or `}` inside any of
them never confuses it. It reports a position for what it cannot read. JSON-syntax files
(`.tf.json`) are read with the JSON parser.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")


class HclError(Exception):
    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


@dataclass
class Block:
    kind: str
    labels: list[str]
    path: Path
    line: int
    attributes: dict[str, str] = field(default_factory=dict)  # top-level name -> raw expression text
    blocks: list[Block] = field(default_factory=list)

    def flag(self, name: str) -> bool:
        return self.attributes.get(name, "").strip() == "true"


class _Reader:
    def __init__(self, text: str, path: Path) -> None:
        self.text, self.path, self.pos = text, path, 0

    def line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def error(self, message: str, pos: int | None = None) -> HclError:
        return HclError(self.path, self.line(pos), message)

    def skip_space(self, newlines: bool = True) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.pos += 1
            elif ch == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("a /* comment is never closed")
                self.pos = end + 2
            else:
                return

    def skip_string(self) -> None:
        """From an opening quote to just past its closing quote, through ${...} templates."""
        start = self.pos
        self.pos += 1
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\":
                self.pos += 2
            elif ch == '"':
                self.pos += 1
                return
            elif ch == "\n":
                raise self.error("a quoted string runs past the end of its line", start)
            elif text.startswith("${", self.pos) or text.startswith("%{", self.pos):
                self.pos += 2
                self.skip_balanced("}")
            else:
                self.pos += 1
        raise self.error("a quoted string is never closed", start)

    def skip_heredoc(self, match: re.Match[str]) -> None:
        start = self.pos
        marker = match.group(1)
        self.pos = match.end()
        closing = re.compile(r"^[ \t]*" + re.escape(marker) + r"[ \t]*$", re.MULTILINE)
        found = closing.search(self.text, self.pos)
        if not found:
            raise self.error(f"heredoc <<{marker} is never closed", start)
        self.pos = found.end()

    def skip_balanced(self, closer: str) -> None:
        """Past the bracket that closes the one just opened, skipping strings, comments and heredocs."""
        pairs = {"{": "}", "[": "]", "(": ")"}
        stack = [closer]
        text = self.text
        while self.pos < len(text):
            self.skip_space()
            if self.pos >= len(text):
                break
            ch = text[self.pos]
            if ch == '"':
                self.skip_string()
            elif ch == "<" and (m := _HEREDOC.match(text, self.pos)):
                self.skip_heredoc(m)
            elif ch in pairs:
                stack.append(pairs[ch])
                self.pos += 1
            elif ch in "}])":
                if ch != stack[-1]:
                    raise self.error(f"unexpected {ch!r} (expected {stack[-1]!r})")
                stack.pop()
                self.pos += 1
                if not stack:
                    return
            else:
                self.pos += 1
        raise self.error(f"a bracket is never closed (expected {stack[-1]!r})")

    def expression_end(self) -> int:
        """Where the expression that starts here ends (a newline outside brackets)."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\n":
                return self.pos
            if ch == '"':
                self.skip_string()
            elif ch == "<" and (m := _HEREDOC.match(text, self.pos)):
                self.skip_heredoc(m)
                return self.pos
            elif ch in "{[(":
                self.pos += 1
                self.skip_balanced({"{": "}", "[": "]", "(": ")"}[ch])
            elif ch == "#" or text.startswith("//", self.pos):
                end = self.pos
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline
                return end
            elif text.startswith("/*", self.pos):
                close = text.find("*/", self.pos + 2)
                if close < 0:
                    raise self.error("a /* comment is never closed")
                self.pos = close + 2
            elif ch == "}":
                return self.pos
            else:
                self.pos += 1
        return self.pos

    def body(self, closing: bool) -> tuple[dict[str, str], list[Block]]:
        attributes: dict[str, str] = {}
        blocks: list[Block] = []
        text = self.text
        while True:
            self.skip_space()
            if self.pos >= len(text):
                if closing:
                    raise self.error("a block is never closed")
                return attributes, blocks
            if text[self.pos] == "}":
                if not closing:
                    raise self.error("unexpected '}'")
                self.pos += 1
                return attributes, blocks
            start = self.pos
            ident = _IDENT.match(text, self.pos)
            if not ident:
                raise self.error(f"expected an attribute or a block, found {text[self.pos:self.pos + 20]!r}")
            name = ident.group(0)
            self.pos = ident.end()
            self.skip_space(newlines=False)
            if text.startswith("=", self.pos) and not text.startswith("==", self.pos):
                self.pos += 1
                self.skip_space(newlines=False)
                begin = self.pos
                end = self.expression_end()
                attributes[name] = text[begin:end].strip()
                continue
            labels = []
            while text.startswith('"', self.pos) or _IDENT.match(text, self.pos):
                if text[self.pos] == '"':
                    label_start = self.pos
                    self.skip_string()
                    labels.append(text[label_start + 1:self.pos - 1])
                else:
                    label = _IDENT.match(text, self.pos)
                    assert label is not None
                    labels.append(label.group(0))
                    self.pos = label.end()
                self.skip_space(newlines=False)
            if not text.startswith("{", self.pos):
                raise self.error(f"expected '{{' to open block {name!r}", start)
            self.pos += 1
            inner_attributes, inner_blocks = self.body(closing=True)
            blocks.append(Block(name, labels, self.path, self.line(start), inner_attributes, inner_blocks))


def read_file(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".tf.json"):
        return _json_blocks(path, text)
    _, blocks = _Reader(text, path).body(closing=False)
    return blocks


def _json_blocks(path: Path, text: str) -> list[Block]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HclError(path, getattr(exc, "lineno", 1), f"not JSON: {exc}") from None
    blocks = []
    for kind in ("variable", "output"):
        for name, given in (data.get(kind) or {}).items():
            body = given[0] if isinstance(given, list) and given else given
            attrs = {k: json.dumps(v) for k, v in (body or {}).items()}
            blocks.append(Block(kind, [name], path, 1, attrs))
    for body in data.get("terraform", []) if isinstance(data.get("terraform"), list) else [data.get("terraform") or {}]:
        inner = [Block("backend", [name], path, 1) for name in (body.get("backend") or {})]
        if inner:
            blocks.append(Block("terraform", [], path, 1, {}, inner))
    return blocks


@dataclass
class Stack:
    """What a folder of Terraform files declares at the top level."""
    path: Path
    variables: dict[str, Block]
    outputs: dict[str, Block]
    backends: list[Block]
    files: list[Path]


def read_stack(folder: Path) -> Stack:
    """Every `.tf` / `.tf.json` file of one folder (not sub-folders: modules are read by Terraform)."""
    files = sorted(p for p in Path(folder).iterdir()
                   if p.is_file() and (p.name.endswith(".tf") or p.name.endswith(".tf.json")))
    variables: dict[str, Block] = {}
    outputs: dict[str, Block] = {}
    backends: list[Block] = []
    for path in files:
        for block in read_file(path):
            if block.kind == "variable" and block.labels:
                if block.labels[0] in variables:
                    raise HclError(path, block.line, f"variable {block.labels[0]!r} is declared twice")
                variables[block.labels[0]] = block
            elif block.kind == "output" and block.labels:
                if block.labels[0] in outputs:
                    raise HclError(path, block.line, f"output {block.labels[0]!r} is declared twice")
                outputs[block.labels[0]] = block
            elif block.kind == "terraform":
                backends += [b for b in block.blocks if b.kind in ("backend", "cloud")]
    return Stack(Path(folder), variables, outputs, backends, files)
