"""The only way answers get in and out of files.

Every problem is reported at once as FILE:LINE:COL: key.path: message. The
YAML is read with ruamel's round-trip loader so that line numbers are known and
so that saving keeps an operator's comments and key order.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from installer.answers.models import Answers
from installer.answers.problems import AnswersError
from installer.answers.validate import file_type_problems, validate_data
from installer.answers.yamltree import load_tree


def load_answers(path: str | os.PathLike[str]) -> Answers:
    """Load and fully validate an answers file."""
    path = Path(path).expanduser()
    tree, data = load_tree(path)
    resolved = path.resolve()  # load_tree has opened it: no symlink loop left to trip over
    answers = validate_data(data, filename=str(path), base_dir=resolved.parent, tree=tree).bind(resolved)
    problems = file_type_problems(answers, str(path), tree)
    if problems:
        raise AnswersError(problems)
    return answers



def load_or_report(path: str | os.PathLike[str], stream: Any = None) -> Answers | None:
    """For commands: the answers, or None after printing every problem (the caller exits 2)."""
    import sys

    try:
        return load_answers(path)
    except AnswersError as exc:
        for problem in exc.problems:
            print(problem, file=stream or sys.stderr)
        return None
