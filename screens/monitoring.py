"""Monitoring and CI options."""
from __future__ import annotations

from screens.base import SectionScreen


class MonitoringScreen(SectionScreen):
    CSS_PATH = "monitoring.tcss"
    PAGE = "monitoring"
    TITLE_TEXT = "Monitoring and CI"
    INTRO = "Optional extras: metrics and dashboards, tracing, alerting, and a Jenkins for DIGIT builds."
    SECTIONS = ("monitoring", "ci")
