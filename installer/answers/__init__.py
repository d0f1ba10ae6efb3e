"""The answers file, one module per job: models, loader (load), yamltree (parse and locate), migrate,
validate, save, problems, secret references (refs), cross-section rules, the wizard's page sections."""
from installer.answers.loader import load_answers, load_or_report
from installer.answers.problems import AnswersError, Problem
from installer.answers.save import (
    answers_to_data,
    default_schema_ref,
    draft_page,
    dump_draft,
    dump_yaml,
    is_draft,
    json_schema,
    save_answers,
    write_private,
)
from installer.answers.validate import file_warnings, problem_message, referenced_paths, validate_data
from installer.answers.yamltree import load_tree, locate
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
    "default_schema_ref",
    "draft_page",
    "dump_draft",
    "dump_yaml",
    "file_warnings",
    "is_draft",
    "json_schema",
    "load_answers",
    "load_or_report",
    "load_tree",
    "locate",
    "problem_message",
    "referenced_paths",
    "save_answers",
    "secret_refs",
    "unreadable_secrets",
    "validate_data",
    "write_private",
]
