"""The questions both wizard faces ask, derived from the answers models.

Every field's `title` is the question and its `description` the help, so the
Textual screens and the line-mode prompts are generated from this one tree and
validate through the same pydantic models as the headless loader. A question's
`loc` is the pydantic error location relative to its section (union tags
included), so a validation error maps straight back onto the question asking it.
"""
from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from collections.abc import Iterator

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from installer.answers import SECTION_MODELS, SecretRef
from installer.answers import models as answer_models
from installer.answers import problem_message
from installer.answers.refs import generate_ref

Loc = tuple[Any, ...]

UNION_TAGS = answer_models.UNION_TAGS


@dataclass
class Question:
    """One thing to ask: a leaf field, a group of fields, a choice of variants or a list of items."""

    loc: Loc
    name: str
    title: str
    help: str = ""
    kind: str = "text"  # text int float bool choice secret path strlist map group union items
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    children: list[Question] = field(default_factory=list)
    variants: dict[str, Question] = field(default_factory=dict)
    discriminator: str = ""
    item: Question | None = None
    optional: bool = False
    allow_generate: bool = False
    note: str = ""  # said beside a variant's name when it is offered (e.g. "not built yet")

    @property
    def key(self) -> str:
        """Dotted key path without union tags, as the loader reports it."""
        return key_path(self.loc)

    def walk(self) -> Iterator[Question]:
        yield self
        for child in self.children:
            yield from child.walk()
        for variant in self.variants.values():
            yield from variant.walk()


def key_path(loc: Loc) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        elif part in UNION_TAGS:
            continue
        else:
            parts.append(str(part))
    return ".".join(parts)


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) < len(get_args(annotation)):
            inner = args[0] if len(args) == 1 else Union[tuple(args)]  # type: ignore[valid-type]  # noqa: UP007 - built at run time
            return inner, True
    return annotation, False


def _unwrap_annotated(annotation: Any) -> tuple[Any, str | None]:
    discriminator = None
    while get_origin(annotation) is typing.Annotated:
        args = get_args(annotation)
        for meta in args[1:]:
            found = getattr(meta, "discriminator", None)
            if isinstance(found, str):
                discriminator = found
        annotation = args[0]
    return annotation, discriminator


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json", exclude_none=True)
        return value
    from pydantic_core import PydanticUndefined

    return None if info.default is PydanticUndefined else info.default


# how a kind is described when its model has no docstring of its own
VARIANT_LABELS = {  # short enough that a drop-down at 80 columns shows them whole
    "aws": "Amazon Web Services (EKS)",
    "azure": "Microsoft Azure (AKS)",
    "gcp": "Google Cloud (GKE)",
    "openstack": "OpenStack, such as the national cloud (NIC)",
    "letsencrypt": "Let's Encrypt issues it (needs internet access)",
    "provided": "a certificate you have, e.g. from the SDC or NIC",
    "self-signed": "the installer makes its own (for testing: browsers warn)",
    "external": "an existing PostgreSQL server",
    "managed": "the cloud's PostgreSQL (RDS, Flexible Server, Cloud SQL)",
    "in-cluster": "PostgreSQL in the cluster (small installs)",
}


def _union_question(loc: Loc, name: str, title: str, help_text: str, members: tuple, discriminator: str) -> Question:
    variants: dict[str, Question] = {}
    for member in members:
        tag_field = member.model_fields[discriminator]
        tag = get_args(tag_field.annotation)[0]
        variant = model_question(member, (*loc, tag), name, title=member.__doc__ or title, skip=(discriminator,))
        if not (member.__doc__ or "").strip() or tag in VARIANT_LABELS:
            variant.help = VARIANT_LABELS.get(tag, variant.help)
        variants[tag] = variant
    return Question(
        loc=loc, name=name, title=title, help=help_text, kind="union", required=True,
        choices=tuple(variants), variants=variants, discriminator=discriminator, default=next(iter(variants)),
    )


_REFERENCE_SYNTAX = re.compile(r":?\s*\{file: [^}]*\} or \{env: [^}]*\}\.?")


def form_help(text: str) -> str:
    """A model's description as a form shows it: without the YAML spelling of a secret reference (the form asks
    where the secret comes from with a choice instead)."""
    cleaned = _REFERENCE_SYNTAX.sub(".", text).strip()
    return "" if cleaned == "." else cleaned


def field_question(info: FieldInfo, loc: Loc, name: str) -> Question:
    title = info.title or name.replace("_", " ").capitalize()
    help_text = form_help(info.description or "")
    annotation, optional = _strip_optional(info.annotation)
    annotation, discriminator = _unwrap_annotated(annotation)
    discriminator = discriminator or (info.discriminator if isinstance(info.discriminator, str) else None)
    required = info.is_required()
    default = _default(info)
    base = {"loc": loc, "name": name, "title": title, "help": help_text, "required": required, "default": default,
            "optional": optional}
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType) and discriminator:
        union = _union_question(loc, name, title, help_text, get_args(annotation), discriminator)
        union.optional = optional
        return union
    if annotation is SecretRef:
        allow_generate = info.default_factory is generate_ref
        return Question(kind="secret", allow_generate=allow_generate, **base)
    if _is_model(annotation):
        group = model_question(annotation, loc, name, title=title)
        group.help, group.required, group.optional = help_text or group.help, required, optional
        return group
    if origin is Literal:
        return Question(kind="choice", choices=tuple(str(a) for a in get_args(annotation)), **base)
    if origin is list:
        (item_type,) = get_args(annotation)
        if _is_model(item_type):
            item = model_question(item_type, (*loc, 0), name)
            return Question(kind="items", item=item, **base)
        return Question(kind="strlist", **base)
    if origin is dict:
        return Question(kind="map", **base)
    if annotation is bool:
        return Question(kind="bool", **base)
    if annotation is int:
        return Question(kind="int", **base)
    if annotation is float:
        return Question(kind="float", **base)
    if annotation is Path:
        return Question(kind="path", **base)
    return Question(kind="text", **base)


def model_question(model: type[BaseModel], loc: Loc, name: str, title: str | None = None, skip: tuple[str, ...] = ()) -> Question:
    children = [
        field_question(info, (*loc, field_name), field_name)
        for field_name, info in model.model_fields.items()
        if field_name not in skip
    ]
    doc = (model.__doc__ or "").strip()
    return Question(loc=loc, name=name, title=(title or doc or name).strip(), help=doc, kind="group", children=children)


NOT_BUILT_NOTE = "not built yet"


def section_question(section: str) -> Question:
    """The question tree of one top-level section of the answers file."""
    info = answer_models.Answers.model_fields[section]
    question = field_question(info, (), section)
    if section == "target":
        from installer.app.pipeline import kinds_not_built

        missing = kinds_not_built()
        for tag, variant in question.variants.items():
            variant.note = NOT_BUILT_NOTE if tag in missing else ""
        # offer first a kind that works
        question.default = next((tag for tag in question.variants if tag not in missing), question.default)
    return question


def top_level_question(name: str) -> Question:
    return field_question(answer_models.Answers.model_fields[name], (), name)


# ---------------------------------------------------------------- data and validation


def get_in(data: Any, loc: Loc, default: Any = None) -> Any:
    """Read a value from nested plain data by a question's loc (union tags are skipped)."""
    node = data
    for part in loc:
        if isinstance(part, str) and part in UNION_TAGS:
            continue
        if (isinstance(node, dict) and part in node) or (isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            node = node[part]
        else:
            return default
    return node


MISSING_MESSAGE = "required (not filled in yet)"


@dataclass(frozen=True)
class FieldError:
    loc: Loc
    key: str
    message: str
    missing: bool = False


def section_errors(section: str, data: Any, base_dir: Path) -> list[FieldError]:
    """Validate one section exactly as the loader would; every error with its loc."""
    adapter = _adapter(section)
    if data is None and section == "registry":
        return []
    try:
        model = adapter.validate_python(data, context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            missing = error["type"] == "missing"
            # a form speaks of fields, not of YAML keys
            message = MISSING_MESSAGE if missing else problem_message(error)
            errors.append(FieldError(loc, key_path((section, *loc)), message, missing))
        return errors
    return spot_errors(section, model, base_dir)


def spot_errors(section: str, model: Any, base_dir: Path) -> list[FieldError]:
    """What `validate` checks on the spot, on the page: a TLS key not of its certificate, a context not in
    the kubeconfig (private keys are the key rows' own check)."""
    from installer.answers.spot import kubeconfig_problems, tls_problems

    if section == "domain":
        found = tls_problems(model, base_dir)
        return [FieldError(("tls", model.tls.mode, "key"), key, message) for key, message in found]
    if section == "target":
        return [FieldError((model.kind, key.split(".")[-1]), key, message) for key, message in kubeconfig_problems(model)]
    return []


_ADAPTERS: dict[str, TypeAdapter] = {}


def _adapter(section: str) -> TypeAdapter:
    if section not in _ADAPTERS:
        _ADAPTERS[section] = TypeAdapter(SECTION_MODELS[section])
    return _ADAPTERS[section]


def errors_for(errors: list[FieldError], loc: Loc, exact: bool = False) -> list[FieldError]:
    """Errors located at `loc` (or below it unless exact)."""
    size = len(loc)
    return [e for e in errors if e.loc == loc or (not exact and e.loc[:size] == loc)]


SECRET_SOURCES = (
    "Where the value comes from: an environment variable (give its name; it must be set when the installer runs), "
    "a file (its path, relative to the answers file), generated (the installer creates it once and keeps it in the "
    "cluster and in the state directory), or typed now (written to a file readable only by you, beside the answers "
    "file, which the answers then name). The value itself is never written into the answers file."
)
KIND_TEXT = {
    "int": "A whole number.",
    "float": "A number.",
    "bool": "Yes or no.",
    "path": "A path; a relative path is relative to the answers file.",
    "strlist": "Several values separated by commas.",
    "map": "Filled in by an action on this page.",
    "items": "One line per item: Add a node adds a line, ✕ removes it.",
}


def explain(question: Question, key: str) -> str:
    """What F1 says about a field: its help, then what the inline help leaves out (form of the value, choices,
    default, whether it may stay empty, where secrets come from)."""
    from installer.keys import PRIVATE_KEY_FIELDS

    parts = [question.help] if question.help else []
    if question.kind == "secret":
        parts.append(SECRET_SOURCES)
        if key in PRIVATE_KEY_FIELDS:
            parts.append("It must be a whole private key (OpenSSH or PEM, every line) without a passphrase; "
                         "a public key (.pub) or a key cut short is refused here.")
    elif question.kind == "choice" and question.choices:
        parts.append("One of: " + ", ".join(question.choices) + ".")
    elif question.kind == "union":
        parts.append("Choices: " + "; ".join(f"{tag}: {(v.help or tag).split(';')[0]}" + (f" ({v.note})" if v.note else "")
                                            for tag, v in question.variants.items()) + ".")
    elif question.kind in KIND_TEXT:
        parts.append(KIND_TEXT[question.kind])
    if question.default not in (None, "", [], {}) and question.kind not in ("group", "union", "secret"):
        shown = "yes" if question.default is True else "no" if question.default is False else question.default
        parts.append(f"Left empty, it is {shown}.")
    elif question.kind == "secret" and question.allow_generate:
        parts.append("Left as it is, the installer generates it.")
    if question.required and question.default is None:
        parts.append("Required.")
    elif not question.required and question.default is None and question.kind not in ("group", "union"):
        parts.append("Optional: may stay empty.")
    return "\n\n".join(parts)
