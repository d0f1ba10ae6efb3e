"""Secret values typed into the wizard, held in memory until the answers are saved."""
from __future__ import annotations

from pathlib import Path


class SecretHolder:
    """Secret values typed into the wizard, by key path; written only to 0600 files on save."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def file_for(self, key: str, answers_path: Path) -> str:
        return f"{answers_path.stem}.secrets/{key}"

    def put(self, key: str, value: str) -> None:
        from installer import redact

        if value:
            redact.register(value)
            self.values[key] = value
        else:
            self.values.pop(key, None)

    def write(self, answers_path: Path) -> list[Path]:
        """Write every typed secret beside the answers file, mode 0600 in a 0700 folder."""
        import os

        from installer.answers import write_private

        written = []
        for key, value in self.values.items():
            path = answers_path.parent / self.file_for(key, answers_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
            write_private(path, value)
            written.append(path)
        return written
