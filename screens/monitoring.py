"""Monitoring and CI options; a switch whose charts the chart folder lacks is refused here, where it is turned on."""
from __future__ import annotations

from typing import Any

from textual.app import ComposeResult

from screens.base import SectionScreen
from screens.questions import FieldError, section_errors


class MonitoringScreen(SectionScreen):
    CSS_PATH = "monitoring.tcss"
    PAGE = "monitoring"
    TITLE_TEXT = "Monitoring and CI"
    INTRO = "Optional extras: metrics and dashboards, tracing, alerting, and a Jenkins for DIGIT builds."
    SECTIONS = ("monitoring", "ci")

    def compose_body(self) -> ComposeResult:
        for section in self.SECTIONS:
            yield self.make_form(section, validator=lambda data, section=section: self._validate(section, data))

    def _validate(self, section: str, data: Any) -> list[FieldError]:
        """The section model, then the charts each switch turned on brings in (monitoring/<chart>, ci/jenkins)
        against the chart folder of the Release page: DIGIT-DevOps' tree has no monitoring charts, and the install
        would find them missing only after the database step."""
        from screens.chart_checks import switch_errors

        base_dir = self.wizard.state.base_dir
        return section_errors(section, data, base_dir) or switch_errors(section, data, self.wizard.state.draft, base_dir)
