"""The answers file: models, the one loader, secret references."""
from installer.answers.loader import (
    AnswersError,
    Problem,
    answers_to_data,
    dump_draft,
    dump_yaml,
    file_warnings,
    json_schema,
    load_answers,
    load_or_report,
    is_draft,
    load_tree,
    referenced_paths,
    save_answers,
    validate_data,
    write_private,
)
from installer.answers.models import ANSWERS_VERSION, SECTION_MODELS, TARGET_KINDS, Answers
from installer.answers.refs import SecretRef, SecretUnavailable, secret_refs, unreadable_secrets
from installer.answers.rules import check_rules

__all__ = [
    "ANSWERS_VERSION",
    "SECTION_MODELS",
    "TARGET_KINDS",
    "Answers",
    "AnswersError",
    "Problem",
    "SecretRef",
    "SecretUnavailable",
    "answers_to_data",
    "check_rules",
    "dump_draft",
    "dump_yaml",
    "file_warnings",
    "is_draft",
    "json_schema",
    "load_answers",
    "load_or_report",
    "load_tree",
    "referenced_paths",
    "save_answers",
    "secret_refs",
    "validate_data",
    "unreadable_secrets",
    "write_private",
]
