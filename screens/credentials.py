"""Credentials and config repos: where each secret comes from; typed values go to a 0600 file, never the answers."""
from __future__ import annotations

from screens.base import SectionScreen


class CredentialsScreen(SectionScreen):
    CSS_PATH = "credentials.tcss"
    PAGE = "credentials"
    TITLE_TEXT = "Credentials and config repos"
    INTRO = ("Each secret is named, never written into the answers file: an environment variable, a file, or "
             "generated once by the installer. A value you type is kept in a separate file readable only by you.")
    SECTIONS = ("credentials", "config_repos")
