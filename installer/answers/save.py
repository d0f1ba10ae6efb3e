"""Writing answers: atomic, mode 0600, keeping the comments and key order of a file edited by hand; drafts;
the JSON Schema."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from installer.answers.models import Answers
from installer.answers.problems import AnswersError
from installer.answers.yamltree import ruamel_yaml, load_tree
from installer.files import atomic_write


SCHEMA_COMMENT = "yaml-language-server: $schema="



def answers_to_data(answers: Answers, base_dir: Path | None = None) -> dict[str, Any]:
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
    ruamel_yaml().dump(document, stream)
    return stream.getvalue()



DRAFT_COMMENT = "draft saved by the wizard; finish it with ./install.sh --answers THIS_FILE --interactive"



DRAFT_PAGE_COMMENT = "wizard page: "



def dump_draft(data: Any, page: str | None = None) -> str:
    """An unfinished answers document (it may not validate) with the loader's YAML settings and a draft header;
    the header also names the wizard page the operator was on, so continuing the draft reopens there."""
    from ruamel.yaml.comments import CommentedMap

    document = CommentedMap(data) if isinstance(data, dict) else data
    stream = io.StringIO()
    stream.write(f"# {DRAFT_COMMENT}\n")
    if page and page.replace("-", "").isalnum():
        stream.write(f"# {DRAFT_PAGE_COMMENT}{page}\n")
    ruamel_yaml().dump(document, stream)
    return stream.getvalue()



def is_draft(text: str) -> bool:
    """Whether a document starts with the draft header (a finished save replaces it with the $schema line)."""
    return text.lstrip().startswith(f"# {DRAFT_COMMENT}")



def draft_page(text: str) -> str | None:
    """The wizard page a draft was saved on (its header's second line), or None for a file that names none."""
    if not is_draft(text):
        return None
    lines = text.lstrip().splitlines()
    second = lines[1].strip() if len(lines) > 1 else ""
    page = second.removeprefix(f"# {DRAFT_PAGE_COMMENT}") if second.startswith(f"# {DRAFT_PAGE_COMMENT}") else ""
    return page if page and page.replace("-", "").isalnum() else None



def write_private(path: Path, text: str) -> None:
    """Atomically replace `path` with `text`, mode 0600 from the first byte."""
    atomic_write(path, text, 0o600)



def save_answers(answers: Answers, path: str | os.PathLike[str], *, tree: Any = None, schema_ref: str | None = None) -> Path:
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



def json_schema() -> dict[str, Any]:
    schema = Answers.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:digit-installer:answers:v1"
    schema["title"] = "DIGIT installer answers file"
    return schema
