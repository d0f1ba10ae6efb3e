"""Database and registry mirror."""
from __future__ import annotations

from screens.base import SectionScreen


class DatabaseScreen(SectionScreen):
    CSS_PATH = "database.tcss"
    PAGE = "database"
    TITLE_TEXT = "Database and registry"
    INTRO = ("DIGIT keeps its data in PostgreSQL: an existing server (external), one the cloud creates (managed) or "
             "one the installer runs in the cluster. Air-gapped sites pull images through a registry mirror.")
    SECTIONS = ("database", "registry")
