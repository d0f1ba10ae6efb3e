"""A problem in an answers file, reported as FILE:LINE:COL: key.path: message, and the error carrying them all."""
from __future__ import annotations

from dataclasses import dataclass


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



def dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int, int, str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.line, problem.col, problem.key_path, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
